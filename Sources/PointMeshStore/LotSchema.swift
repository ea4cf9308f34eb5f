import PointMeshCore

/// The lot tables' schema and the migration steps that made and refolded them.
extension LotFold {
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
        // The fold below writes lots as this release keeps them, green and holder columns included.
        try connection.execute("ALTER TABLE lots ADD COLUMN green INTEGER NOT NULL DEFAULT 0")
        try addHolders(connection, progress: progress)
        // A customer's points are its lots from now on (`MoveEffects.isCounted`).
        try connection.run("DELETE FROM balances WHERE asset = ? AND substr(account, 1, 1) != '@'", .integer(Int64(Asset.points.code)))
        try refoldAllLots(connection, progress: progress)
    }

    /// Folds every account's lots again from its entries, with progress every 10,000 accounts.
    static func refoldAllLots(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let fold = LotFold(reader: LedgerReader(connection: connection))
        let accounts = try connection.all("SELECT DISTINCT account FROM entry_accounts") { AccountID(unchecked: $0.text(0)) }
        var cache = LotEventCache(), caches = WriterCaches()
        for (index, account) in accounts.enumerated() {
            try fold.rebuildLots(of: account, cache: &cache, caches: &caches)
            if (index + 1) % 10_000 == 0 { progress("expiry lots: \(index + 1) of \(accounts.count) accounts") }
        }
    }

    /// Migration "spending-rights": the `holder` column of lots, NULL while the lot's own origin
    /// holds it (every lot until a grant moves it), so no row is rewritten. Every earlier step
    /// that writes lots makes it first ("expiry-lots", "green-lots", "clashing-writes-count"):
    /// lots are written with it.
    static func addHolders(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let columns = try connection.all("PRAGMA table_info(lots)") { $0.text(1) }
        guard !columns.contains("holder") else { return }
        try connection.execute("ALTER TABLE lots ADD COLUMN holder TEXT")
    }

    /// Migration "spending-rights": the `holder` column, and the accounts folded again whose
    /// entries a release without spending rights folded without them: a node of 0.7 in a chain
    /// upgrading store by store stores 0.8's rights grants as an unknown kind and folds debits
    /// decided under rights (tag 25) as if any holder's lots were theirs. Finding them reads
    /// every entry once, with progress every million.
    static func adoptSpendingRights(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try addHolders(connection, progress: progress)
        var affected: Set<AccountID> = [], read = 0
        try connection.withStatement("SELECT body FROM ledger_entries WHERE duplicate = 0") { row in
            while try row.step() {
                let entry = try LedgerReader.decode(row)
                if (try? LotEvents.concernsRights(entry)) == true {
                    affected.formUnion(entry.customerAccounts)
                }
                read += 1
                if read % 1_000_000 == 0 { progress("spending rights: read \(read) entries, \(affected.count) accounts to fold again") }
            }
        }
        let fold = LotFold(reader: LedgerReader(connection: connection))
        var cache = LotEventCache(), caches = WriterCaches()
        for account in affected.sorted() { try fold.rebuildLots(of: account, cache: &cache, caches: &caches) }
    }

    /// The SQL of the node holding a lot's rights.
    static let holderSQL = "COALESCE(holder, origin)"

    /// Migration "green-lots": the `green` column of lots, and every account folded again: a 0.4 node
    /// folded entries of 0.5's kinds it received without their rules (green lots, transfers the
    /// family rule voids). From before 0.4, "expiry-lots" adds the column and folds already.
    static func addGreenLots(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let columns = try connection.all("PRAGMA table_info(lots)") { $0.text(1) }
        guard !columns.contains("green") else { return }
        try connection.execute("ALTER TABLE lots ADD COLUMN green INTEGER NOT NULL DEFAULT 0")
        try addHolders(connection, progress: progress)
        try refoldAllLots(connection, progress: progress)
    }
}
