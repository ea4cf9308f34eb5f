import Foundation

/// An exclusive lock on a data directory for the life of the process that holds it, as
/// PostgreSQL's `postmaster.pid` and etcd's lock file do: two node processes on one directory
/// would write two different entries under one (origin, sequence), and the second's open
/// transactions lock the first out of its own database.
///
/// `flock` on `DIR/LOCK`: the kernel drops it when the process dies, even by `kill -9`, so a
/// crashed node never leaves a stale lock behind. The file holds the owner's PID so a refused
/// start can say who holds it.
final class DataDirectoryLock: Sendable {
    static let fileName = "LOCK"
    private let descriptor: Int32

    /// Takes the lock or throws `StoreError.directoryInUse`.
    init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError.cannotOpenDirectory(directory, String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw StoreError.directoryInUse(directory, pid: holder.flatMap { Int32($0) })
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    /// Releases the lock (closing the descriptor drops the `flock`).
    func release() {
        close(descriptor)
    }
}
