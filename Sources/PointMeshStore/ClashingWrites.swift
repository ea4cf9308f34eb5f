import PointMeshCore

extension LedgerWriter {
    /// Migration "clashing-writes-count" (release 0.7): until then a received entry that shared its idempotency key
    /// with a counting one was kept as a duplicate whatever its body; since, only a copy of the
    /// identical request is (`ReceivedEntryEffect.of`), and different requests under one id
    /// (a clash) each count. So entries a 0.6 node kept as duplicates of a *different* request
    /// count here as they do on a node that received them after the upgrade: for each key, the
    /// earliest entry of each request hash counts, with the late campaign credits of a purchase
    /// that counts again. Their moves are added to the counters, and if any entry counts again
    /// every account's lots are folded anew (a join that counts again can void a transfer of
    /// other customers). A ledger without clashes only pays for the query of its duplicates.
    static func countClashingWrites(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute(clashSchema)
        // Counting writes lots, read with every column this release keeps.
        try LotFold.addHolders(connection, progress: progress)
        let database = LedgerWriter(connection: connection)
        let keys = try connection.all("SELECT DISTINCT idem_key FROM ledger_entries WHERE duplicate = 1 ORDER BY idem_key") { $0.text(0) }
        var revived = 0
        /// Lets the earliest entry of each request under `key` count, unless it counts only with
        /// an entry that doesn't; false (nothing done) for a key of such entries when `dependents` is false.
        func revive(_ key: String, dependents: Bool) throws -> Bool {
            let copies = try connection.all("SELECT body, duplicate FROM ledger_entries WHERE idem_key = ?", .text(key)) {
                (entry: try LedgerReader.decode($0), duplicate: $0.int64(1) == 1)
            }
            if !dependents, copies.contains(where: { EntryKinds.countsOnlyWith($0.entry) != nil }) { return false }
            let counting = Set(copies.filter { !$0.duplicate }.map(\.entry.requestHash))
            let byRequest = Dictionary(grouping: copies.filter(\.duplicate).map(\.entry), by: \.requestHash)
            for (hash, entries) in byRequest.sorted(by: { $0.key.hex < $1.key.hex }) where !counting.contains(hash) {
                guard let earliest = entries.min(by: ReplicationRules.precedes) else { continue }
                if let purchase = EntryKinds.countsOnlyWith(earliest), try database.reader.isDuplicate(purchase) { continue }
                try connection.run("UPDATE ledger_entries SET duplicate = 0 WHERE origin = ? AND seq = ?",
                                   .text(earliest.id.origin.rawValue), .integer(earliest.id.sequence))
                try database.count(earliest, sign: 1)
                try database.recordClash(earliest.idempotencyKey)
                revived += 1
            }
            return true
        }
        // Entries that count only with another (late credits) last: one counts again only once
        // its purchase does.
        var deferred: [String] = []
        for key in keys where try !revive(key, dependents: false) { deferred.append(key) }
        for key in deferred { _ = try revive(key, dependents: true) }
        guard revived > 0 else { return }
        progress("clashing writes: \(revived) entries kept as duplicates of a different request now count; folding lots again")
        try LotFold.refoldAllLots(connection, progress: progress)
    }

    /// The keys under which more than one request counts: kept as they arise, so operators can
    /// list clashes and a metric can count them without grouping the whole ledger.
    static let clashSchema = "CREATE TABLE IF NOT EXISTS clashes (idem_key TEXT PRIMARY KEY) WITHOUT ROWID"

    /// Notes that different requests count under `key`.
    func recordClash(_ key: IdempotencyKey) throws {
        try connection.run("INSERT OR IGNORE INTO clashes (idem_key) VALUES (?)", .text(key.description))
    }
}

extension LedgerReader {
    /// Up to `limit` keys under which different requests count, in key order after `after`,
    /// each with its counting entries, earliest first.
    public func clashes(after: String?, limit: Int) throws -> [(key: IdempotencyKey, entries: [LedgerEntry])] {
        let keys = try connection.all("SELECT idem_key FROM clashes WHERE idem_key > ? ORDER BY idem_key LIMIT ?",
                                      .text(after ?? ""), .integer(Int64(limit))) { $0.text(0) }
        return try keys.compactMap { text in
            guard let key = IdempotencyKey(parsing: text) else { return nil }
            return (key, try countingEntries(for: key))
        }
    }

    /// How many keys have clashed.
    public func clashCount() throws -> Int {
        try connection.first("SELECT COUNT(*) FROM clashes") { Int($0.int64(0)) } ?? 0
    }
}
