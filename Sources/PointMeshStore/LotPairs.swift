import PointMeshCore

/// A green earning credits two lots that differ only in colour: the regular points (move 0) and
/// the green ones (move 1), with the same expiry, maturity, policy and source. The store keeps
/// such a pair in one row of `lots` while both are untouched: the regular lot in the row's own
/// columns, the green one in `twin_move`, `twin_amount` and `twin_remaining` (migration "lot-pairs").
///
/// Why: the second row was the largest single cost a green purchase added on the writer (a
/// B-tree insert and its share of WAL pages, about 5 µs of a 60 µs purchase). The pair is
/// storage only: every read expands the row into the two lots, in spending order (the regular
/// lot's move is the lower), so `LotBook` and every rule above it never see it. Sums add
/// `twin_remaining`, which is 0 in an unpaired row. The first write that changes either lot
/// splits the row back into two (`unpair`), so only whole, fresh pairs are ever paired and no
/// update has to know about them.
struct LotPair: Hashable {
    /// The row's key without its move: at most one paired row per account, expiry and entry.
    var expiresAt: Int64
    var entry: EntryID

    /// The pair `lots` makes, if they are exactly a regular and a green lot of one entry with
    /// the same life (a green earning's two credits).
    static func of(_ lots: [Lot]) -> (regular: Lot, green: Lot)? {
        guard lots.count == 2 else { return nil }
        let (regular, green) = (lots[0], lots[1])
        guard !regular.green, green.green, regular.id.entry == green.id.entry, regular.id.move < green.id.move,
              regular.expiresAt == green.expiresAt, regular.maturesAt == green.maturesAt, regular.earnedAt == green.earnedAt,
              regular.policy == green.policy, regular.source == green.source else { return nil }
        return (regular, green)
    }
}

extension LedgerReader {
    /// The columns a lot read selects, in `lot(from:)`'s order.
    static let lotColumns = "origin, seq, move, amount, remaining, earned_at, matures_at, expires_at, policy, source, green, twin_move, twin_amount, twin_remaining, holder"

    /// The green points a row holds: its own if it is a green lot, its twin's if it is a pair.
    static let greenRemainingSQL = "CASE WHEN green = 1 THEN remaining ELSE twin_remaining END"

    /// The lots a row selected with `lotColumns` holds: one, or a pair's two in spending order.
    static func lots(from row: SQLiteStatement) -> (lots: [Lot], pair: LotPair?) {
        let entry = EntryID(origin: NodeID(unchecked: row.text(0)), sequence: row.int64(1))
        let lot = Lot(id: LotID(entry: entry, move: Int(row.int64(2))), amount: Points(row.int64(3)), remaining: Points(row.int64(4)),
                      earnedAt: row.int64(5), maturesAt: row.int64(6), expiresAt: row.int64(7), policy: RequestID(unchecked: row.text(8)),
                      source: row.text(9), green: row.int64(10) == 1, holder: row.optionalText(14).map(NodeID.init(unchecked:)))
        guard let twinMove = row.optionalInt64(11) else { return ([lot], nil) }
        var twin = lot
        twin.id.move = Int(twinMove)
        twin.amount = Points(row.int64(12))
        twin.remaining = Points(row.int64(13))
        twin.green = true
        return ([lot, twin], LotPair(expiresAt: lot.expiresAt, entry: entry))
    }
}

extension LotFold {
    /// A green earning's two whole lots, in one row.
    func insertPair(regular: Lot, green: Lot, of account: SQLiteStatement.Value) throws {
        try connection.run("""
            INSERT INTO lots (account, expires_at, origin, seq, move, amount, remaining, earned_at, matures_at, policy, source, green,
                              twin_move, twin_amount, twin_remaining)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
            """, values: [
                account, .integer(regular.expiresAt), .text(regular.id.entry.origin.rawValue), .integer(regular.id.entry.sequence),
                .integer(Int64(regular.id.move)), .integer(regular.amount.value), .integer(regular.remaining.value), .integer(regular.earnedAt),
                .integer(regular.maturesAt), .text(regular.policy.rawValue), .text(regular.source),
                .integer(Int64(green.id.move)), .integer(green.amount.value), .integer(green.remaining.value),
            ])
    }

    /// Splits a paired row into its two lots' rows, before a write changes either.
    func unpair(_ pair: LotPair, of account: SQLiteStatement.Value) throws {
        let key: [SQLiteStatement.Value] = [account, .integer(pair.expiresAt), .text(pair.entry.origin.rawValue), .integer(pair.entry.sequence)]
        try connection.run("""
            INSERT INTO lots (account, expires_at, origin, seq, move, amount, remaining, earned_at, matures_at, policy, source, green)
            SELECT account, expires_at, origin, seq, twin_move, twin_amount, twin_remaining, earned_at, matures_at, policy, source, 1
            FROM lots WHERE account = ? AND expires_at = ? AND origin = ? AND seq = ? AND twin_move IS NOT NULL
            """, values: key)
        try connection.run("""
            UPDATE lots SET twin_move = NULL, twin_amount = 0, twin_remaining = 0
            WHERE account = ? AND expires_at = ? AND origin = ? AND seq = ? AND twin_move IS NOT NULL
            """, values: key)
    }
}
