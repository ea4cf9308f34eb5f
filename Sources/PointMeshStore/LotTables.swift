import PointMeshCore

/// The lots the store keeps per customer account: `LotBook`'s open lots and deficit, as rows,
/// kept equal to a fold of the account's counting entries in ledger order (`LotEvents.fold`).
///
/// An entry that is the account's newest in ledger order (every local write, and most received
/// ones) is applied to the kept book and only the lots it changed are written. One that lands
/// before entries already folded (a late arrival from a cut-off store), or a receipt that
/// changes which of two entries counts, makes the account stale: its lots are folded again
/// from all its entries at the end of the batch. So the kept lots never depend on arrival order.
extension LedgerDatabase {
    /// The tables and indexes (migration "expiry-lots").
    static let lotSchema = """
        CREATE TABLE lots (
            account    TEXT    NOT NULL,
            origin     TEXT    NOT NULL,
            seq        INTEGER NOT NULL,
            move       INTEGER NOT NULL,
            amount     INTEGER NOT NULL,
            remaining  INTEGER NOT NULL CHECK (remaining > 0),
            earned_at  INTEGER NOT NULL,
            matures_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            policy     TEXT    NOT NULL,
            source     TEXT    NOT NULL,
            PRIMARY KEY (account, expires_at, origin, seq, move)
        ) WITHOUT ROWID;
        CREATE TABLE lot_deficits (
            account TEXT    NOT NULL PRIMARY KEY,
            deficit INTEGER NOT NULL CHECK (deficit > 0)
        ) WITHOUT ROWID;
        CREATE INDEX ledger_entries_by_rare_code ON ledger_entries (code) WHERE code > 3;
        """

    /// Migration "expiry-lots": the lot tables, filled by folding every account's entries.
    static func createLots(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute(lotSchema)
        // The fold below writes lots as this release keeps them, green column included.
        try connection.execute("ALTER TABLE lots ADD COLUMN green INTEGER NOT NULL DEFAULT 0")
        // A customer's points are its lots from now on (`MoveEffects.isCounted`).
        try connection.run("DELETE FROM balances WHERE asset = ? AND substr(account, 1, 1) != '@'", .integer(Int64(Asset.points.code)))
        try refoldAllLots(connection, progress: progress)
    }

    /// Folds every account's lots again from its entries, with progress every 10,000 accounts.
    static func refoldAllLots(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let database = LedgerDatabase(connection: connection)
        let accounts = try connection.all("SELECT DISTINCT account FROM entry_accounts") { AccountID(unchecked: $0.text(0)) }
        var cache = LotEventCache()
        for (index, account) in accounts.enumerated() {
            try database.rebuildLots(of: account, cache: &cache)
            if (index + 1) % 10_000 == 0 { progress("expiry lots: \(index + 1) of \(accounts.count) accounts") }
        }
    }

    /// Migration "green-lots": the `green` column of lots, and every account folded again: a 0.4 node
    /// folded entries of 0.5's kinds it received without their rules (green lots, transfers the
    /// family rule voids). From before 0.4, "expiry-lots" adds the column and folds already.
    static func addGreenLots(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let columns = try connection.all("PRAGMA table_info(lots)") { $0.text(1) }
        guard !columns.contains("green") else { return }
        try connection.execute("ALTER TABLE lots ADD COLUMN green INTEGER NOT NULL DEFAULT 0")
        try refoldAllLots(connection, progress: progress)
    }

    public func lotBook(of account: AccountID) throws -> LotBook {
        LotBook(lots: try lots(of: account), deficit: try deficit(of: account))
    }

    /// The account's lots meeting `condition` (SQL over the lots columns), in spending order,
    /// at most `limit`, skipping `offset`.
    private func lots(of account: AccountID, where condition: String = "1", _ values: [SQLiteStatement.Value] = [],
                      limit: Int = -1, offset: Int = 0) throws -> [Lot] {
        try lotRows(of: account, where: condition, values, limit: limit, offset: offset).lots
    }

    /// What `lots(of:)` reads, with the rows it read (`limit` and `offset` count rows) and the
    /// pairs among them (`LotPair`); `green` keeps the lots of that colour.
    private func lotRows(of account: AccountID, where condition: String, _ values: [SQLiteStatement.Value], green: Bool? = nil,
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
        if let known = caches?.stableFacts[account]?.facts(at: instant) {
            caches?.lastDeficit = (account, known.summary.deficit)
            return known
        }
        return try connection.first("""
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
            let facts = AccountFacts(summary: summary, debt: Points(row.int64(4)))
            if caches != nil {
                caches?.lastDeficit = (account, deficit)
                if caches?.stableFacts.count ?? 0 >= WriterCaches.stableFactsLimit { caches?.stableFacts.removeAll(keepingCapacity: true) }
                let nextChange = [summary.nextMaturity, row.optionalInt64(6)].compactMap { $0 }.min()
                caches?.stableFacts[account] = StableAccountFacts(facts, readAt: instant, nextChange: nextChange)
            }
            return facts
        } ?? .empty
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

    public func pendingPoints(of account: AccountID, source: String, at instant: Int64) throws -> Points {
        Points(try connection.first("""
            SELECT COALESCE(SUM(remaining + twin_remaining), 0) FROM lots WHERE account = ? AND source = ? AND expires_at > ? AND matures_at > ?
            """, .text(account.rawValue), .text(source), .integer(instant), .integer(instant)) { $0.int64(0) } ?? 0)
    }

    /// The account's lots that expired with points left, at instants within `range`.
    public func expiredLots(of account: AccountID, at instant: Int64, within range: ClosedRange<Int64>) throws -> [Lot] {
        try lots(of: account, where: "expires_at <= ? AND expires_at BETWEEN ? AND ?",
                 [.integer(instant), .integer(range.lowerBound), .integer(range.upperBound)])
    }

    private func deficit(of account: AccountID) throws -> Points {
        Points(try connection.first("SELECT deficit FROM lot_deficits WHERE account = ?", .text(account.rawValue)) { $0.int64(0) } ?? 0)
    }

    /// The part of the account's book an event can change, so a write to an account holding
    /// thousands of lots reads a few: a credit needs only the deficit; a debit, the lots of the
    /// source it prefers and then spendable lots in spending order until they cover it; an
    /// extension, the lots in its range. `LotBook` applied to this part changes exactly what it
    /// would change in the whole book.
    private func bookPart(of account: AccountID, for event: LotEvent) throws -> (book: LotBook, pairs: Set<LotPair>) {
        var part: [Lot] = [], pairs: Set<LotPair> = []
        switch event {
        case .credit:
            break
        case .debit(let amount, let instant, let preferring):
            if let preferring {
                var conditions = ["expires_at > ?"], values: [SQLiteStatement.Value] = [.integer(instant)]
                if let source = preferring.source {
                    conditions.append("source = ?")
                    values.append(.text(source))
                } else {
                    conditions.append("matures_at <= ?")
                    values.append(.integer(instant))
                }
                if let expiry = preferring.expiresAt {
                    conditions.append("expires_at = ?")
                    values.append(.integer(expiry))
                }
                let preferred = try lotRows(of: account, where: conditions.joined(separator: " AND "), values, green: preferring.green)
                part = preferred.lots
                pairs = preferred.pairs
            }
            var covered = part.reduce(Points.zero) { $0 + $1.remaining }, offset = 0
            let page = 64
            while covered < amount, preferring?.exclusive != true {
                let more = try lotRows(of: account, where: "matures_at <= ? AND expires_at > ?", [.integer(instant), .integer(instant)],
                                       limit: page, offset: offset)
                for lot in more.lots where !part.contains(where: { $0.id == lot.id }) {
                    part.append(lot)
                    covered += lot.remaining
                }
                pairs.formUnion(more.pairs)
                guard more.rows == page else { break }
                offset += page
            }
        case .extend(let extended, _):
            let range = try lotRows(of: account, where: "expires_at BETWEEN ? AND ?",
                                    [.integer(extended.expiring.lowerBound), .integer(extended.expiring.upperBound)])
            part = range.lots
            pairs = range.pairs
        }
        return (LotBook(lots: part, deficit: try knownDeficit(of: account)), pairs)
    }

    /// The account's deficit: on the writer, as its decision just read it in this transaction
    /// (`accountFacts`) if nothing wrote it since; otherwise from the table.
    private func knownDeficit(of account: AccountID) throws -> Points {
        if let known = caches?.lastDeficit, known.account == account { return known.deficit }
        return try deficit(of: account)
    }

    /// Every write of an earning reads this, so it must use the partial index of rare codes:
    /// SQLite uses a partial index only when the query repeats its condition (`code > 3`);
    /// without it this scanned every entry on every purchase.
    static let policyVersionsSQL = "SELECT body FROM ledger_entries WHERE code = ? AND code > 3 AND duplicate = 0"

    public func expiryPolicies() throws -> ExpiryPolicies {
        if let cached = caches?.policies { return cached }
        let entries = try connection.all(Self.policyVersionsSQL, .integer(Int64(ExpiryPolicyKind.code.value)), row: Self.decode)
        var versions: [ExpiryPolicyVersion] = []
        for entry in entries { versions.append(try ExpiryPolicyKind.version(entry)) }
        let policies = ExpiryPolicies(versions)
        caches?.policies = policies
        return policies
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

    /// Applies a counting entry to the lots of each account it concerns, or marks the account
    /// `stale` when the entry is not its newest (or it is already stale). `isLocal`: the node
    /// just wrote it, so it is the newest of every account (its clock has observed every
    /// entry held) and the check is skipped.
    func updateLots(for entry: LedgerEntry, accounts known: [AccountID]? = nil, isLocal: Bool = false, stale: inout Set<AccountID>) throws {
        let accounts = known ?? entry.customerAccounts
        let events = try lotEvents(entry, for: accounts)
        for account in accounts where !stale.contains(account) {
            if !isLocal, try hasLaterEntry(account, than: entry) {
                stale.insert(account)
                continue
            }
            // The common case, a purchase at this node by a customer in no deficit: each credit
            // is a whole lot (`LotBook.credit` with nothing to pay); the lots, the regular and the
            // green one, go in with one insert.
            var whole: [Lot] = []
            for event in events[account] ?? [] {
                if isLocal, case .credit(let lot) = event, let known = caches?.lastDeficit, known.account == account, known.deficit == .zero {
                    if lot.remaining > .zero { whole.append(lot) }
                    continue
                }
                // Events apply in order: lots credited before this one are in the table first.
                try insertWhole(whole, of: account)
                whole = []
                let (before, pairs) = try bookPart(of: account, for: event)
                var after = before
                let changed = after.apply(event)
                try save(after, of: account, changed: changed, before: before, pairs: pairs)
            }
            try insertWhole(whole, of: account)
        }
    }

    /// Whole lots (nothing owed took any of them) credited to `account`, in one statement, and
    /// added to the facts the writer keeps of it.
    private func insertWhole(_ lots: [Lot], of account: AccountID) throws {
        if let pair = LotPair.of(lots) {
            try insertPair(regular: pair.regular, green: pair.green, of: .text(account.rawValue))
        } else {
            try insert(lots, of: .text(account.rawValue))
        }
        for lot in lots {
            guard caches?.stableFacts[account]?.credit(lot, at: lot.earnedAt) == false else { continue }
            caches?.stableFacts[account] = nil
            return
        }
    }

    /// Folds the account's lots again from all its counting entries.
    func rebuildLots(of account: AccountID, cache: inout LotEventCache) throws {
        let book = try foldedLots(of: account, cache: &cache)
        try connection.run("DELETE FROM lots WHERE account = ?", .text(account.rawValue))
        try save(book, of: account, changed: book.lots.map(\.id), before: nil)
    }

    /// The account's book as a fold of all its counting entries in ledger order.
    func foldedLots(of account: AccountID, cache: inout LotEventCache) throws -> LotBook {
        var book = LotBook()
        try connection.withStatement("""
            SELECT e.origin, e.seq, e.body FROM entry_accounts a JOIN ledger_entries e ON e.origin = a.origin AND e.seq = a.seq
            WHERE a.account = ? AND e.duplicate = 0
            ORDER BY a.hlc_wall, a.hlc_logical, a.origin, a.seq
            """, [.text(account.rawValue)]) { row in
            while try row.step() {
                let id = EntryID(origin: NodeID(unchecked: row.text(0)), sequence: row.int64(1))
                let events: [LotEvent]
                if let cached = cache.events[id] {
                    events = cached[account] ?? []
                } else {
                    let entry: LedgerEntry
                    do {
                        entry = try EntryCoding.decode(row.blob(2))
                    } catch {
                        throw StoreError.corruptRow("entry \(id) does not decode: \(error)")
                    }
                    let accounts = entry.customerAccounts
                    let all = try lotEvents(entry, for: accounts.count > LotEventCache.sharedAbove ? accounts : [account])
                    if accounts.count > LotEventCache.sharedAbove { cache.events[id] = all }
                    events = all[account] ?? []
                }
                for event in events { book.apply(event) }
            }
        }
        return book
    }

    /// What `entry` does to the lots of `accounts`: nothing if its family or refund condition
    /// does not hold on the entries held now (`EntryCondition`; a membership entry that arrives
    /// later, or a refund whose standing changes, makes the parties stale: `reconcileTransfers`,
    /// `reconcileRefunds`).
    private func lotEvents(_ entry: LedgerEntry, for accounts: [AccountID]) throws -> [AccountID: [LotEvent]] {
        do {
            return try LotEvents.of(entry, accounts: accounts, stands: try EntryCondition.stands(entry, in: self))
        } catch let error as DecodingError {
            throw StoreError.corruptRow("entry \(entry.id): lot terms do not read: \(error)")
        }
    }

    /// Whether `account` has an entry later in ledger order than `entry`.
    private func hasLaterEntry(_ account: AccountID, than entry: LedgerEntry) throws -> Bool {
        try connection.first("""
            SELECT 1 FROM entry_accounts WHERE account = ? AND (hlc_wall, hlc_logical, origin, seq) > (?, ?, ?, ?) LIMIT 1
            """, .text(account.rawValue), .integer(entry.timestamp.wallMilliseconds), .integer(entry.timestamp.logical),
            .text(entry.id.origin.rawValue), .integer(entry.id.sequence)) { _ in true } ?? false
    }

    private func insert(_ lot: Lot, of account: SQLiteStatement.Value) throws { try insert([lot], of: account) }

    /// New lots of one account, in one statement (a green earning makes two).
    private func insert(_ lots: [Lot], of account: SQLiteStatement.Value) throws {
        guard !lots.isEmpty else { return }
        var values: [SQLiteStatement.Value] = []
        values.reserveCapacity(12 * lots.count)
        for lot in lots {
            values += [
                account, .integer(lot.expiresAt), .text(lot.id.entry.origin.rawValue), .integer(lot.id.entry.sequence), .integer(Int64(lot.id.move)),
                .integer(lot.amount.value), .integer(lot.remaining.value), .integer(lot.earnedAt), .integer(lot.maturesAt),
                .text(lot.policy.rawValue), .text(lot.source), .integer(lot.green ? 1 : 0),
            ]
        }
        try connection.run(lots.count <= Self.insertLotStatements.count ? Self.insertLotStatements[lots.count - 1] : Self.insertLots(lots.count),
                           values: values)
    }

    /// Inserting one lot, and two.
    private static let insertLotStatements = [insertLots(1), insertLots(2)]

    private static func insertLots(_ count: Int) -> String {
        "INSERT INTO lots (account, expires_at, origin, seq, move, amount, remaining, earned_at, matures_at, policy, source, green) VALUES "
            + Array(repeating: "(?,?,?,?,?,?,?,?,?,?,?,?)", count: count).joined(separator: ",")
    }

    /// Writes the `changed` lots of `book` (deleting those used up) and its deficit, given the
    /// part of the book as it was `before` (nil: the account's lots were just deleted) and the
    /// `pairs` it was read from, split before either lot changes. A lot's expiry is part of its
    /// key, so an extended lot moves.
    private func save(_ book: LotBook, of account: AccountID, changed: [LotID], before: LotBook?, pairs: Set<LotPair> = []) throws {
        let name = SQLiteStatement.Value.text(account.rawValue)
        var pairs = pairs
        for id in changed {
            let old = before?.lot(id), new = book.lot(id)
            if let old, let pair = pairs.remove(LotPair(expiresAt: old.expiresAt, entry: id.entry)) { try unpair(pair, of: name) }
            let key: [SQLiteStatement.Value] = [.text(id.entry.origin.rawValue), .integer(id.entry.sequence), .integer(Int64(id.move))]
            if let old, new?.expiresAt != old.expiresAt {
                try connection.run("DELETE FROM lots WHERE account = ? AND expires_at = ? AND origin = ? AND seq = ? AND move = ?",
                                   values: [name, .integer(old.expiresAt)] + key)
            }
            guard let lot = new else { continue }
            if let old, old.expiresAt == lot.expiresAt {
                try connection.run("UPDATE lots SET remaining = ? WHERE account = ? AND expires_at = ? AND origin = ? AND seq = ? AND move = ?",
                                   values: [.integer(lot.remaining.value), name, .integer(lot.expiresAt)] + key)
            } else {
                try insert(lot, of: name)
            }
        }
        if caches?.lastDeficit?.account == account { caches?.lastDeficit = nil }
        caches?.stableFacts[account] = nil
        if let before, before.deficit == book.deficit { return }
        if book.deficit > .zero {
            try connection.run("INSERT INTO lot_deficits (account, deficit) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET deficit = excluded.deficit",
                               name, .integer(book.deficit.value))
        } else {
            try connection.run("DELETE FROM lot_deficits WHERE account = ?", name)
        }
    }
}

/// Lot events of entries that concern many accounts (compensation batches), decoded once
/// while folding many accounts in a row (a rebuild after a late batch, `verify`), instead of
/// once per account.
struct LotEventCache {
    static let sharedAbove = 8
    var events: [EntryID: [AccountID: [LotEvent]]] = [:]
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

extension LedgerDatabase {
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
