import PointMeshCore

/// The lots the store keeps per customer account: `LotBook`'s open lots and deficit, as rows,
/// kept equal to a fold of the account's counting entries in ledger order (`LotEvents.fold`).
///
/// An entry that is the account's newest in ledger order (every local write, and most received
/// ones) is applied to the kept book and only the lots it changed are written. One that lands
/// before entries already folded (a late arrival from a cut-off store), or a receipt that
/// changes which of two entries counts, makes the account stale: its lots are folded again
/// from all its entries at the end of the batch. So the kept lots never depend on arrival order.
///
/// It reads and writes through the writer's connection; what the writer caches of an account
/// (`WriterCaches`: its deficit as the write's decision read it, its stable facts) is passed in
/// and kept equal to what it writes.
struct LotFold {
    let reader: LedgerReader
    var connection: SQLiteConnection { reader.connection }

    /// The part of the account's book an event can change, so a write to an account holding
    /// thousands of lots reads a few: a credit needs only the deficit; a debit, the lots of the
    /// source it prefers and then spendable lots in spending order until they cover it; an
    /// extension, the lots in its range; a grant, the giver's unexpired lots. A debit decided
    /// under spending rights reads only lots its origin holds. `LotBook` applied to this part
    /// changes exactly what it would change in the whole book.
    private func bookPart(of account: AccountID, for event: LotEvent, caches: WriterCaches) throws -> (book: LotBook, pairs: Set<LotPair>) {
        var part: [Lot] = [], pairs: Set<LotPair> = []
        switch event {
        case .credit:
            break
        case .debit(let amount, let instant, let preferring):
            var held = "", holder: [SQLiteStatement.Value] = []
            if let node = preferring?.heldBy {
                held = " AND \(LotFold.holderSQL) = ?"
                holder = [.text(node.rawValue)]
            }
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
                let preferred = try reader.lotRows(of: account, where: conditions.joined(separator: " AND ") + held, values + holder, green: preferring.green)
                part = preferred.lots
                pairs = preferred.pairs
            }
            var covered = part.reduce(Points.zero) { $0 + $1.remaining }, offset = 0
            let page = 64
            while covered < amount, preferring?.exclusive != true {
                let more = try reader.lotRows(of: account, where: "matures_at <= ? AND expires_at > ?" + held, [.integer(instant), .integer(instant)] + holder,
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
            let range = try reader.lotRows(of: account, where: "expires_at BETWEEN ? AND ?",
                                    [.integer(extended.expiring.lowerBound), .integer(extended.expiring.upperBound)])
            part = range.lots
            pairs = range.pairs
        case .grant(let grant, let instant):
            let given = try reader.lotRows(of: account, where: "expires_at > ? AND \(LotFold.holderSQL) = ?", [.integer(instant), .text(grant.from.rawValue)])
            part = given.lots
            pairs = given.pairs
        }
        return (LotBook(lots: part, deficit: try knownDeficit(of: account, caches: caches)), pairs)
    }

    /// The account's deficit: on the writer, as its decision just read it in this transaction
    /// (`accountFacts`) if nothing wrote it since; otherwise from the table.
    private func knownDeficit(of account: AccountID, caches: WriterCaches) throws -> Points {
        if let known = caches.lastDeficit, known.account == account { return known.deficit }
        return try reader.deficit(of: account)
    }

    /// Applies a counting entry to the lots of each account it concerns, or marks the account
    /// `stale` when the entry is not its newest (or it is already stale). `isLocal`: the node
    /// just wrote it, so it is the newest of every account (its clock has observed every
    /// entry held) and the check is skipped.
    func updateLots(for entry: LedgerEntry, accounts known: [AccountID]? = nil, isLocal: Bool = false, stale: inout Set<AccountID>,
                    caches: inout WriterCaches) throws {
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
                if isLocal, case .credit(let lot) = event, let known = caches.lastDeficit, known.account == account, known.deficit == .zero {
                    if lot.remaining > .zero { whole.append(lot) }
                    continue
                }
                // Events apply in order: lots credited before this one are in the table first.
                try insertWhole(whole, of: account, caches: &caches)
                whole = []
                let (before, pairs) = try bookPart(of: account, for: event, caches: caches)
                var after = before
                let changed = after.apply(event)
                try save(after, of: account, changed: changed, before: before, pairs: pairs, caches: &caches)
            }
            try insertWhole(whole, of: account, caches: &caches)
        }
    }

    /// Whole lots (nothing owed took any of them) credited to `account`, in one statement, and
    /// added to the facts the writer keeps of it.
    private func insertWhole(_ lots: [Lot], of account: AccountID, caches: inout WriterCaches) throws {
        if let pair = LotPair.of(lots) {
            try insertPair(regular: pair.regular, green: pair.green, of: .text(account.rawValue))
        } else {
            try insert(lots, of: .text(account.rawValue))
        }
        for lot in lots {
            guard caches.stableFacts[account]?.credit(lot, at: lot.earnedAt) == false else { continue }
            caches.stableFacts[account] = nil
            return
        }
    }

    /// Folds the account's lots again from all its counting entries.
    func rebuildLots(of account: AccountID, cache: inout LotEventCache, caches: inout WriterCaches) throws {
        let book = try foldedLots(of: account, cache: &cache)
        try connection.run("DELETE FROM lots WHERE account = ?", .text(account.rawValue))
        try save(book, of: account, changed: book.lots.map(\.id), before: nil, caches: &caches)
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
            return try LotEvents.of(entry, accounts: accounts, stands: try EntryCondition.stands(entry, in: reader))
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
        values.reserveCapacity(13 * lots.count)
        for lot in lots {
            values += [
                account, .integer(lot.expiresAt), .text(lot.id.entry.origin.rawValue), .integer(lot.id.entry.sequence), .integer(Int64(lot.id.move)),
                .integer(lot.amount.value), .integer(lot.remaining.value), .integer(lot.earnedAt), .integer(lot.maturesAt),
                .text(lot.policy.rawValue), .text(lot.source), .integer(lot.green ? 1 : 0), Self.holderValue(of: lot),
            ]
        }
        try connection.run(lots.count <= Self.insertLotStatements.count ? Self.insertLotStatements[lots.count - 1] : Self.insertLots(lots.count),
                           values: values)
    }

    /// The `holder` column of `lot`: NULL while its origin holds it.
    private static func holderValue(of lot: Lot) -> SQLiteStatement.Value {
        lot.holder == lot.id.entry.origin ? .null : .text(lot.holder.rawValue)
    }

    /// Inserting one lot, and two.
    private static let insertLotStatements = [insertLots(1), insertLots(2)]

    private static func insertLots(_ count: Int) -> String {
        "INSERT INTO lots (account, expires_at, origin, seq, move, amount, remaining, earned_at, matures_at, policy, source, green, holder) VALUES "
            + Array(repeating: "(?,?,?,?,?,?,?,?,?,?,?,?,?)", count: count).joined(separator: ",")
    }

    /// Writes the `changed` lots of `book` (deleting those used up) and its deficit, given the
    /// part of the book as it was `before` (nil: the account's lots were just deleted) and the
    /// `pairs` it was read from, split before either lot changes. A lot's expiry is part of its
    /// key, so an extended lot moves.
    private func save(_ book: LotBook, of account: AccountID, changed: [LotID], before: LotBook?, pairs: Set<LotPair> = [],
                      caches: inout WriterCaches) throws {
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
                try connection.run("UPDATE lots SET remaining = ?, holder = ? WHERE account = ? AND expires_at = ? AND origin = ? AND seq = ? AND move = ?",
                                   values: [.integer(lot.remaining.value), Self.holderValue(of: lot), name, .integer(lot.expiresAt)] + key)
            } else {
                try insert(lot, of: name)
            }
        }
        if caches.lastDeficit?.account == account { caches.lastDeficit = nil }
        caches.stableFacts[account] = nil
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
