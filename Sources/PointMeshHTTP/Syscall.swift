#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: which one and its errno.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Int32

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The one door to the syscalls sockets need: retries on EINTR and throws `SystemError`
/// otherwise. `close` is never retried (the descriptor is gone even when it reports EINTR).
enum Syscall {
    @discardableResult
    static func retrying(_ operation: String, _ call: () -> Int) throws(SystemError) -> Int {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(operation: operation, errno: code)
        }
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try retrying("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes every byte, looping over partial writes. MSG_NOSIGNAL keeps a closed peer from
    /// raising SIGPIPE even if the process has not ignored it.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = try retrying("send") {
                send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            offset += written
        }
    }

    /// Waits until `fd` is readable or `milliseconds` pass; true when readable (or closed).
    static func waitReadable(_ fd: Int32, milliseconds: Int32) throws(SystemError) -> Bool {
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = try retrying("poll") { Int(poll(&pollFD, 1, milliseconds)) }
        return ready > 0
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
