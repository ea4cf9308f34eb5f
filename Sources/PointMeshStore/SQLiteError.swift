/// A failed SQLite call: the extended result code, SQLite's message and the statement.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?

    public var description: String {
        if let sql { return "SQLite error \(code): \(message) (in: \(sql))" }
        return "SQLite error \(code): \(message)"
    }
}

extension SQLiteError {
    /// The primary result code (extended codes keep it in the low byte).
    public var primaryCode: Int32 { code & 0xff }

    /// The disk (or its quota) is full.
    public var isFull: Bool { primaryCode == 13 }

    /// The write could not reach the disk for a reason outside the request: an I/O error, the
    /// database locked or busy beyond the timeout, read-only, or unopenable.
    public var isStorageUnavailable: Bool { [5, 6, 8, 10, 14].contains(primaryCode) }

    /// SQLite's name for the primary code, for messages a person reads.
    public var primaryName: String {
        switch primaryCode {
        case 5: "database busy"
        case 6: "database locked"
        case 8: "database is read-only"
        case 10: "I/O error"
        case 13: "disk full"
        case 14: "cannot open database file"
        default: "SQLite error \(code)"
        }
    }
}
