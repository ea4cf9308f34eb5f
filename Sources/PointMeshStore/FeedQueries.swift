import PointMeshCore

/// The change feed: every entry in the order this node stored it, each at a position that
/// never changes (an `INTEGER PRIMARY KEY`, kept by `VACUUM`), so a warehouse that loaded up
/// to a position continues from there across restarts and never meets an entry twice.
extension LedgerReader {
    /// The feed's table (migration "feed-order"): one row per entry held, the entries already
    /// held in ledger order.
    static let feedSchema = """
        CREATE TABLE feed (
            position INTEGER PRIMARY KEY,
            origin   TEXT    NOT NULL,
            seq      INTEGER NOT NULL
        );
        INSERT INTO feed (origin, seq) SELECT origin, seq FROM ledger_entries ORDER BY hlc_wall, hlc_logical, origin, seq;
        """

    /// Up to `limit` entries stored after `position`, in feed order, each with its position and
    /// whether it is a duplicate copy.
    public func feed(after position: Int64, limit: Int) throws -> [(position: Int64, entry: LedgerEntry, duplicate: Bool)] {
        try connection.all("""
            SELECT f.position, e.body, e.duplicate FROM feed f JOIN ledger_entries e ON e.origin = f.origin AND e.seq = f.seq
            WHERE f.position > ? ORDER BY f.position LIMIT ?
            """, .integer(position), .integer(Int64(limit))) { row in
            (row.int64(0), try Self.decode(row, column: 1), row.int64(2) == 1)
        }
    }

    /// The last position in the feed (0 when empty).
    public func feedEnd() throws -> Int64 {
        try connection.first("SELECT COALESCE(MAX(position), 0) FROM feed") { $0.int64(0) } ?? 0
    }
}
