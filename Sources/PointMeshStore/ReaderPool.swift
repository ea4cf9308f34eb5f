import Dispatch
import Synchronization

/// Read-only connections for queries that run beside the writer (WAL lets readers see the last
/// committed state without blocking it). A reader is used by one thread at a time.
final class ReaderPool: Sendable {
    /// A connection checked out to one thread at a time, which is why it may cross threads.
    final class Reader: @unchecked Sendable {
        let database: LedgerDatabase
        init(_ database: LedgerDatabase) { self.database = database }
    }

    private let idle: Mutex<[Reader]>
    private let available: DispatchSemaphore

    init(path: String, size: Int) throws {
        var readers: [Reader] = []
        for _ in 0..<size {
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            readers.append(Reader(LedgerDatabase(connection: connection)))
        }
        idle = Mutex(readers)
        available = DispatchSemaphore(value: size)
    }

    func withReader<T>(_ body: (LedgerDatabase) throws -> T) throws -> T {
        available.wait()
        defer { available.signal() }
        let reader = idle.withLock { $0.removeLast() }
        defer { idle.withLock { $0.append(reader) } }
        return try body(reader.database)
    }
}
