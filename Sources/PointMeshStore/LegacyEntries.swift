import PointMeshCore

/// Release 0.2's ledger, rewritten into the one ledger model (migration "ledger-model"). Each old row named
/// one account and carried its kind's fields in columns; each becomes the entry the kind's rule
/// would write today (`Earn.moves`, `Refund.details`, …) with the same id, timestamp,
/// idempotency key and request hash, so replays and the duplicate rule behave as before.
enum LegacyEntries {
    /// Rows rewritten between progress lines.
    static let progressInterval = 100_000

    static func upgrade(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute(Migrations.ledgerModel)
        let total = try connection.integer("SELECT COUNT(*) FROM entries")
        let database = LedgerWriter(connection: connection)
        if total > 0 { progress("upgrading the ledger to the 0.3 model: \(total) entries") }
        var done: Int64 = 0
        var after: (origin: String, seq: Int64) = ("", 0)
        var chains: [NodeID: OriginChain] = [:]
        while true {
            // In pages, so a large ledger never sits in memory at once.
            let rows = try connection.all("""
                SELECT origin, seq, hlc_wall, hlc_logical, kind, account, points, balance_delta, debt_delta,
                       balance_after, idem_key, request_hash, receipt, amount_fen, items, reward_id, member_id, duplicate
                FROM entries WHERE (origin, seq) > (?, ?) ORDER BY origin, seq LIMIT 10000
                """, .text(after.origin), .integer(after.seq)) { row in (try entry(row), row.int64(17) == 1) }
            guard let last = rows.last else { break }
            for (entry, duplicate) in rows {
                try database.insert(entry, duplicate: duplicate, chains: &chains)
                if !duplicate { try database.count(entry, sign: 1) }
                done += 1
                if done % Int64(progressInterval) == 0 { progress("upgraded \(done) of \(total) entries") }
            }
            after = (last.0.id.origin.rawValue, last.0.id.sequence)
        }
        try connection.execute("DROP TABLE entries; DROP TABLE counters;")
        if total > 0 { progress("ledger upgraded: \(total) entries") }
    }

    /// One release-0.2 row as the entry its kind writes now.
    static func entry(_ row: SQLiteStatement) throws -> LedgerEntry {
        let origin = NodeID(unchecked: row.text(0)), sequence = row.int64(1)
        let id = EntryID(origin: origin, sequence: sequence)
        let account = AccountID(unchecked: row.text(5))
        let points = Points(row.int64(6)), balanceDelta = Points(row.int64(7)), debtDelta = Points(row.int64(8))
        let balanceAfter = Points(row.int64(9))
        guard let key = IdempotencyKey(parsing: row.text(10)), let hash = RequestHash(hex: row.text(11)) else {
            throw StoreError.corruptRow("release 0.2 entry \(id): key or hash")
        }
        let receipt = row.optionalText(12).map(ReceiptID.init(unchecked:))
        let amount = row.optionalInt64(13).map(Fen.init)
        let code: EntryCode, moves: [Move], details: EntryDetails
        switch row.text(4) {
        case "earn":
            guard let receipt, let amount else { throw StoreError.corruptRow("release 0.2 earn \(id) lacks receipt or amount") }
            code = Earn.code
            moves = Earn.moves(customer: account, earned: points, repaid: -debtDelta, store: origin)
            details = Earn.details(receipt: receipt, amount: amount, items: try items(row.optionalText(14)), balanceAfter: balanceAfter)
        case "refund":
            guard let receipt, let amount else { throw StoreError.corruptRow("release 0.2 refund \(id) lacks receipt or amount") }
            code = Refund.code
            moves = Refund.moves(customer: account, taken: -balanceDelta, debt: debtDelta, store: origin)
            details = Refund.details(receipt: receipt, amount: amount, reversed: points, balanceAfter: balanceAfter)
        case "redeem":
            let reward = row.optionalText(15).map(RequestID.init(unchecked:))
            code = Redemption.code
            moves = Redemption.moves(account: account, points: points, reward: reward)
            details = Redemption.details(reward: reward, member: row.optionalText(16).map(AccountID.init(unchecked:)), balanceAfter: balanceAfter)
        case let other:
            throw StoreError.corruptRow("release 0.2 entry \(id) of unknown kind \(other)")
        }
        return LedgerEntry(
            id: id, timestamp: HLCTimestamp(wallMilliseconds: row.int64(2), logical: row.int64(3)), code: code,
            idempotencyKey: key, requestHash: hash, moves: moves, details: details)
    }

    /// Release 0.2's items column: `sku,category,amount` per item, `;` between items.
    private static func items(_ text: String?) throws -> [PurchaseItem] {
        guard let text else { return [] }
        return try text.split(separator: ";").map { part in
            let fields = part.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 3, let amount = Int64(fields[2]) else { throw StoreError.corruptRow("items column: \(text)") }
            return PurchaseItem(sku: SKU(unchecked: String(fields[0])), category: CategoryID(unchecked: String(fields[1])), amount: Fen(amount))
        }
    }
}
