import Dispatch
import Synchronization

/// Read-only connections for queries that run beside the writer (WAL lets readers see the last
/// committed state without blocking it). A reader is used by one thread at a time.
final class ReaderPool: Sendable {
    /// A connection checked out to one thread at a time, which is why it may cross threads.
    final class Reader: @unchecked Sendable {
        let database: LedgerReader
        init(_ database: LedgerReader) { self.database = database }
    }

    private let idle: Mutex<(readers: [Reader], closed: Bool)>
    private let available: DispatchSemaphore
    private let size: Int

    init(path: String, size: Int) throws {
        var readers: [Reader] = []
        for _ in 0..<size {
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            readers.append(Reader(LedgerReader(connection: connection)))
        }
        self.size = size
        idle = Mutex((readers, false))
        available = DispatchSemaphore(value: size)
    }

    func withReader<T>(_ body: (LedgerReader) throws -> T) throws -> T {
        available.wait()
        defer { available.signal() }
        guard let reader = idle.withLock({ $0.closed ? nil : $0.readers.removeLast() }) else { throw StoreError.closed }
        defer { idle.withLock { $0.readers.append(reader) } }
        return try body(reader.database)
    }

    /// Waits for reads in progress, then closes every connection; later reads throw `closed`.
    func close() {
        for _ in 0..<size { available.wait() }
        idle.withLock { pool in
            guard !pool.closed else { return }
            pool.closed = true
            pool.readers.forEach { $0.database.connection.close() }
        }
        for _ in 0..<size { available.signal() }
    }
}
