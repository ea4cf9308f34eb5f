import PointMeshCore

/// Reads of the lot tables: an account's book and facts, what expires, the expiry policy's
/// versions, and reminders.
extension LedgerReader {
    public func lotBook(of account: AccountID) throws -> LotBook {
        LotBook(lots: try lots(of: account), deficit: try deficit(of: account))
    }

    /// The account's lots meeting `condition` (SQL over the lots columns), in spending order,
    /// at most `limit`, skipping `offset`.
    func lots(of account: AccountID, where condition: String = "1", _ values: [SQLiteStatement.Value] = [],
                      limit: Int = -1, offset: Int = 0) throws -> [Lot] {
        try lotRows(of: account, where: condition, values, limit: limit, offset: offset).lots
    }

    /// What `lots(of:)` reads, with the rows it read (`limit` and `offset` count rows) and the
    /// pairs among them (`LotPair`); `green` keeps the lots of that colour.
    func lotRows(of account: AccountID, where condition: String, _ values: [SQLiteStatement.Value], green: Bool? = nil,
                         limit: Int = -1, offset: Int = 0) throws -> (lots: [Lot], rows: Int, pairs: Set<LotPair>) {
        // A pair's row holds a green lot whatever its own `green` says.
        let colour = green == nil ? "" : " AND (green = ? OR twin_move IS NOT NULL)"
        let rows = try connection.all("""
            SELECT \(Self.lotColumns)
            FROM lots WHERE account = ? AND (\(condition))\(colour) ORDER BY expires_at, origin, seq, move LIMIT ? OFFSET ?
            """, values: [.text(account.rawValue)] + values + (green.map { [.integer($0 ? 1 : 0)] } ?? []) + [.integer(Int64(limit)), .integer(Int64(offset))],
            row: Self.lots(from:))
        var lots = rows.flatMap(\.lots)
        if let green { lots.removeAll { $0.green != green } }
        return (lots, rows.count, Set(rows.compactMap(\.pair)))
    }

    /// What every decision about a customer reads, in one statement: sums over the account's
    /// lots not yet expired (a contiguous range of the table, which skips every lot that expired
    /// before `instant`), its deficit and its debt. Equals `lotBook(of:).summary(at:)` without
    /// `expiring` and `expired`; a test checks it. The writer keeps what it read while no lot
    /// changes state (`WriterCaches.stableFacts`), so a customer's next purchase reads no lot rows.
    public func accountFacts(of account: AccountID, at instant: Int64) throws -> AccountFacts {
        try accountFactsUntilChange(of: account, at: instant).facts
    }

    /// `accountFacts`, and the next instant a lot of the account matures or expires (nil: none
    /// will), until which they hold unless a write changes them.
    func accountFactsUntilChange(of account: AccountID, at instant: Int64) throws -> (facts: AccountFacts, nextChange: Int64?) {
        try connection.first("""
            SELECT COALESCE(SUM(CASE WHEN matures_at > ?2 THEN remaining + twin_remaining END), 0),
                   COALESCE(SUM(CASE WHEN matures_at <= ?2 THEN remaining + twin_remaining END), 0),
                   MIN(CASE WHEN matures_at > ?2 THEN matures_at END),
                   COALESCE((SELECT deficit FROM lot_deficits WHERE account = ?1), 0),
                   COALESCE((SELECT SUM(credits_posted - debits_posted) FROM balances WHERE account = ?1 AND asset = ?3), 0),
                   COALESCE(SUM(CASE WHEN matures_at <= ?2 THEN \(Self.greenRemainingSQL) END), 0),
                   MIN(expires_at)
            FROM lots WHERE account = ?1 AND expires_at > ?2
            """, .text(account.rawValue), .integer(instant), .integer(Int64(Asset.debt.code))) { row in
            let deficit = Points(row.int64(3))
            var summary = LotSummary(spendable: Points(row.int64(1)) - deficit, deficit: deficit, pending: Points(row.int64(0)),
                                     nextMaturity: row.optionalInt64(2))
            summary.green = Points(row.int64(5))
            let nextChange = [summary.nextMaturity, row.optionalInt64(6)].compactMap { $0 }.min()
            return (AccountFacts(summary: summary, debt: Points(row.int64(4))), nextChange)
        } ?? (.empty, nil)
    }

    /// Points of the account that expired unspent, as of `instant` (for the account view).
    public func expiredPoints(of account: AccountID, at instant: Int64) throws -> Points {
        Points(try connection.first("SELECT COALESCE(SUM(remaining + twin_remaining), 0) FROM lots WHERE account = ? AND expires_at <= ?",
                                    .text(account.rawValue), .integer(instant)) { $0.int64(0) } ?? 0)
    }

    /// The account's spendable points by expiry instant, soonest first, at most `limit` instants.
    public func expiring(of account: AccountID, at instant: Int64, limit: Int = 10) throws -> [ExpiringPoints] {
        try connection.all("""
            SELECT expires_at, SUM(remaining + twin_remaining) FROM lots WHERE account = ?1 AND expires_at > ?2 AND matures_at <= ?2
            GROUP BY expires_at ORDER BY expires_at LIMIT ?3
            """, .text(account.rawValue), .integer(instant), .integer(Int64(limit))) { ExpiringPoints(points: Points($0.int64(1)), expiresAt: $0.int64(0)) }
    }

    public func pendingPoints(of account: AccountID, source: String, at instant: Int64, heldBy holder: NodeID? = nil) throws -> Points {
        Points(try connection.first("""
            SELECT COALESCE(SUM(remaining + twin_remaining), 0) FROM lots
            WHERE account = ? AND source = ? AND expires_at > ? AND matures_at > ? AND (?5 IS NULL OR \(LotFold.holderSQL) = ?5)
            """, .text(account.rawValue), .text(source), .integer(instant), .integer(instant), holder.map { .text($0.rawValue) } ?? .null) { $0.int64(0) } ?? 0)
    }

    /// The spendable points of `account`'s lots `node` holds at `instant`, and their green part
    /// (`LotBook.rights`).
    public func heldRights(of account: AccountID, by node: NodeID, at instant: Int64) throws -> HeldRights {
        try connection.first("""
            SELECT COALESCE(SUM(remaining + twin_remaining), 0), COALESCE(SUM(\(Self.greenRemainingSQL)), 0)
            FROM lots WHERE account = ?1 AND expires_at > ?2 AND matures_at <= ?2 AND \(LotFold.holderSQL) = ?3
            """, .text(account.rawValue), .integer(instant), .text(node.rawValue)) { HeldRights(points: Points($0.int64(0)), green: Points($0.int64(1))) }
            ?? HeldRights()
    }

    /// The nodes holding lots of `account` not expired at `instant` (`LotBook.holders`).
    public func lotHolders(of account: AccountID, at instant: Int64) throws -> [NodeID] {
        try connection.all("SELECT DISTINCT \(LotFold.holderSQL) FROM lots WHERE account = ? AND expires_at > ? ORDER BY 1",
                           .text(account.rawValue), .integer(instant)) { NodeID(unchecked: $0.text(0)) }
    }

    /// The spendable points of `account`'s lots by holder at `instant` (`LotBook.rightsByHolder`).
    public func rightsByHolder(of account: AccountID, at instant: Int64) throws -> [NodeID: Points] {
        var held: [NodeID: Points] = [:]
        for (node, points) in try connection.all("""
            SELECT \(LotFold.holderSQL), SUM(remaining + twin_remaining) FROM lots
            WHERE account = ?1 AND expires_at > ?2 AND matures_at <= ?2 GROUP BY 1
            """, .text(account.rawValue), .integer(instant), row: { (NodeID(unchecked: $0.text(0)), Points($0.int64(1))) }) {
            held[node] = points
        }
        return held
    }

    /// The account's lots that expired with points left, at instants within `range`.
    public func expiredLots(of account: AccountID, at instant: Int64, within range: ClosedRange<Int64>) throws -> [Lot] {
        try lots(of: account, where: "expires_at <= ? AND expires_at BETWEEN ? AND ?",
                 [.integer(instant), .integer(range.lowerBound), .integer(range.upperBound)])
    }

    /// The lots' deficit summed over every account: the overdrafts outstanding (an offline
    /// allowance's, or entries decided without spending rights).
    public func totalDeficit() throws -> Points {
        Points(try connection.first("SELECT COALESCE(SUM(deficit), 0) FROM lot_deficits") { $0.int64(0) } ?? 0)
    }

    func deficit(of account: AccountID) throws -> Points {
        Points(try connection.first("SELECT deficit FROM lot_deficits WHERE account = ?", .text(account.rawValue)) { $0.int64(0) } ?? 0)
    }

    /// Every write of an earning reads this, so it must use the partial index of rare codes:
    /// SQLite uses a partial index only when the query repeats its condition (`code > 3`);
    /// without it this scanned every entry on every purchase.
    static let policyVersionsSQL = "SELECT body FROM ledger_entries WHERE code = ? AND code > 3 AND duplicate = 0"

    /// The expiry policy's versions, from the entries of the kinds that declare the
    /// `expiryPolicies` fold.
    public func expiryPolicies() throws -> ExpiryPolicies {
        var entries: [LedgerEntry] = []
        for code in EntryKinds.codes(folding: .expiryPolicies) {
            entries += try connection.all(Self.policyVersionsSQL, .integer(Int64(code.value)), row: Self.decode)
        }
        return try ExpiryPolicies.fold(entries)
    }

    public func isKnown(_ account: AccountID) throws -> Bool {
        try connection.first("SELECT 1 FROM entry_accounts WHERE account = ? LIMIT 1", .text(account.rawValue)) { _ in true } ?? false
    }

    public func accounts(withLotsExpiring expiring: ClosedRange<Int64>, limit: Int) throws -> [AccountID] {
        try connection.all("SELECT DISTINCT account FROM lots WHERE expires_at BETWEEN ? AND ? ORDER BY account LIMIT ?",
                           .integer(expiring.lowerBound), .integer(expiring.upperBound), .integer(Int64(limit))) {
            AccountID(unchecked: $0.text(0))
        }
    }
}

/// One reminder: an account's spendable points that expire together.
public struct ReminderRow: Hashable, Sendable {
    public var account: AccountID
    public var expiresAt: Int64
    public var points: Points
}

/// Position in the reminder listing: the last row of the previous page.
public struct ReminderCursor: Hashable, Sendable {
    public var expiresAt: Int64
    public var account: AccountID

    public init(expiresAt: Int64, account: AccountID) {
        self.expiresAt = expiresAt
        self.account = account
    }

    /// `expires.account` (the account goes last because it may contain dots); pages follow
    /// account order, then expiry.
    public var token: String { "\(expiresAt).\(account.rawValue)" }

    public init?(token: String) {
        let parts = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let expires = Int64(parts[0]), let account = try? AccountID(validating: String(parts[1])) else { return nil }
        self.init(expiresAt: expires, account: account)
    }
}

extension LedgerReader {
    /// Lots expiring within `expiring`, summed per account and expiry instant, in that order
    /// (the table's own order: a listing of every page reads the lots table once), after `cursor`. `maturedBy` leaves out lots still pending at that instant;
    /// `unacknowledgedFor` leaves out reminders a channel acknowledged for that window
    /// (`ReminderAck`). Reminders are `(now, now + N days]`, matured by now, unacknowledged for N.
    public func lotGroups(expiring: ClosedRange<Int64>, maturedBy: Int64? = nil, unacknowledgedFor withinDays: Int64? = nil,
                          after cursor: ReminderCursor?, limit: Int) throws -> [ReminderRow] {
        var values: [SQLiteStatement.Value] = [.integer(expiring.lowerBound), .integer(expiring.upperBound)]
        var conditions = ["expires_at BETWEEN ? AND ?"]
        if let maturedBy {
            conditions.append("matures_at <= ?")
            values.append(.integer(maturedBy))
        }
        if let cursor {
            conditions.append("(account, expires_at) > (?, ?)")
            values += [.text(cursor.account.rawValue), .integer(cursor.expiresAt)]
        }
        var having = ""
        if let withinDays {
            having = "HAVING NOT EXISTS (SELECT 1 FROM entry_links WHERE link = 'reminder:' || account || '|' || expires_at || ?)"
            values.append(.text("|\(withinDays)"))
        }
        values.append(.integer(Int64(limit)))
        return try connection.withStatement("""
            SELECT account, expires_at, SUM(remaining + twin_remaining) FROM lots WHERE \(conditions.joined(separator: " AND "))
            GROUP BY account, expires_at \(having)
            ORDER BY account, expires_at LIMIT ?
            """, values) { query in
            var rows: [ReminderRow] = []
            while try query.step() {
                rows.append(ReminderRow(account: AccountID(unchecked: query.text(0)), expiresAt: query.int64(1), points: Points(query.int64(2))))
            }
            return rows
        }
    }
}
