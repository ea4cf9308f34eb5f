import CSQLite

/// SQLite's "copy this buffer now" destructor, which the C macro can't express in Swift.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection with a cache of prepared statements. Owned by one thread at a time
/// (the group-commit writer, or a reader checked out of the pool), so it is not `Sendable`.
public final class SQLiteConnection {
    let handle: OpaquePointer
    private var cache: [StatementKey: SQLiteStatement] = [:]

    public enum Mode { case readWrite, readOnly }

    public init(path: String, mode: Mode) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (mode == .readWrite ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY)
            | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(message): \(path)", sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Self.busyTimeoutMilliseconds)
    }

    private var isOpen = true
    private var walHook: WALHook?

    /// Calls `handler` after each commit with the number of frames now in the WAL (SQLite's
    /// `sqlite3_wal_hook`, which replaces automatic checkpoints on this connection).
    public func onWALCommit(_ handler: @escaping (Int32) -> Void) {
        let hook = WALHook(handler)
        walHook = hook
        sqlite3_wal_hook(handle, { context, _, _, frames in
            if let context { Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().handler(frames) }
            return SQLITE_OK
        }, Unmanaged.passUnretained(hook).toOpaque())
    }

    deinit { close() }

    /// Finalizes every statement and closes the connection. The last connection to a WAL
    /// database to close checkpoints it and removes the `-wal` and `-shm` files. Nothing may
    /// use the connection afterwards.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements that return no rows we need.
    public func execute(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql: sql) }
    }

    /// Runs `body` with the prepared statement for `sql` (from the cache when prepared before),
    /// bound to `values`, and resets it when `body` returns or throws. This is the only way to
    /// reach a statement: a statement stepped and left unreset keeps its read transaction open,
    /// so a pooled reader would go on seeing that old snapshot (and hold back WAL checkpoints)
    /// until the statement's next use. The statement must not escape `body`.
    public func withStatement<T>(_ sql: String, _ values: [SQLiteStatement.Value] = [], _ body: (SQLiteStatement) throws -> T) throws -> T {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(values)
        return try body(statement)
    }

    /// Runs a statement that returns no rows.
    public func run(_ sql: String, _ values: SQLiteStatement.Value...) throws {
        try run(sql, values: values)
    }

    /// `run`, with the values as an array.
    public func run(_ sql: String, values: [SQLiteStatement.Value]) throws {
        try withStatement(sql, values) { try $0.run() }
    }

    /// The first row of a query, decoded by `row`, or nil when there is none.
    public func first<T>(_ sql: String, _ values: SQLiteStatement.Value..., row: (SQLiteStatement) throws -> T) throws -> T? {
        try withStatement(sql, values) { statement in try statement.step() ? try row(statement) : nil }
    }

    /// Every row of a query, each decoded by `row`.
    public func all<T>(_ sql: String, _ values: SQLiteStatement.Value..., row: (SQLiteStatement) throws -> T) throws -> [T] {
        try all(sql, values: values, row: row)
    }

    /// `all`, with the values as an array.
    public func all<T>(_ sql: String, values: [SQLiteStatement.Value], row: (SQLiteStatement) throws -> T) throws -> [T] {
        try withStatement(sql, values) { statement in
            var rows: [T] = []
            while try statement.step() { rows.append(try row(statement)) }
            return rows
        }
    }

    private func prepared(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = cache[StatementKey(sql: sql)] { return cached }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw error(rc, sql: sql) }
        let statement = SQLiteStatement(raw, connection: self, sql: sql)
        cache[StatementKey(sql: sql)] = statement
        return statement
    }

    /// Whether any statement of this connection is stepped and not yet reset, i.e. holds a
    /// read snapshot open. Tests use it to prove every path resets.
    public var hasActiveStatement: Bool {
        var next = sqlite3_next_stmt(handle, nil)
        while let statement = next {
            if sqlite3_stmt_busy(statement) != 0 { return true }
            next = sqlite3_next_stmt(handle, statement)
        }
        return false
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// How long a statement waits for a lock another connection holds.
    static let busyTimeoutMilliseconds: Int32 = 5_000

    /// Runs `body` with lock waits cut to `milliseconds`: a database busy for longer fails
    /// instead of waiting the usual 5 s.
    public func withBusyWait<T>(milliseconds: Int32, _ body: () throws -> T) rethrows -> T {
        sqlite3_busy_timeout(handle, milliseconds)
        defer { sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds) }
        return try body()
    }

    /// Reads a single integer pragma (or any one-integer query).
    public func integer(_ sql: String) throws -> Int64 {
        try first(sql) { $0.int64(0) } ?? 0
    }

    public var userVersion: Int64 {
        get throws { try integer("PRAGMA user_version") }
    }
}

/// Keeps a WAL hook's closure alive for as long as its connection.
private final class WALHook {
    let handler: (Int32) -> Void
    init(_ handler: @escaping (Int32) -> Void) { self.handler = handler }
}

/// The statement cache's key: SQL text, hashed by its length and a sample of its bytes rather
/// than all of them. Every statement of every write looks itself up, and hashing whole texts of
/// a few hundred bytes cost about a microsecond per purchase on the writer. Equality compares the
/// whole text (at once when both are the same literal), so texts that sample alike only share a
/// bucket.
private struct StatementKey: Hashable {
    let sql: String

    static let samples = 16

    func hash(into hasher: inout Hasher) {
        let sampled: Void? = sql.utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes.count)
            guard !bytes.isEmpty else { return }
            for sample in 0..<Self.samples { hasher.combine(bytes[(bytes.count - 1) * sample / (Self.samples - 1)]) }
        }
        if sampled == nil { hasher.combine(sql) }
    }
}
