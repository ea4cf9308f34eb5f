import PointMeshCore

extension LedgerDatabase {
    /// Migration 8 (release 0.7): until then a received entry that shared its idempotency key
    /// with a counting one was kept as a duplicate whatever its body; since, only a copy of the
    /// identical request is (`ReceivedEntryEffect.of`), and different requests under one id
    /// (a clash) each count. So entries a 0.6 node kept as duplicates of a *different* request
    /// count here as they do on a node that received them after the upgrade: for each key, the
    /// earliest entry of each request hash counts, with the late campaign credits of a purchase
    /// that counts again. Their moves are added to the counters, and if any entry counts again
    /// every account's lots are folded anew (a join that counts again can void a transfer of
    /// other customers). A ledger without clashes only pays for the query of its duplicates.
    static func countClashingWrites(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let database = LedgerDatabase(connection: connection)
        // Late credits last: one counts again only once its purchase does.
        let keys = try connection.all(
            "SELECT idem_key, MAX(code = ?) FROM ledger_entries WHERE duplicate = 1 GROUP BY idem_key ORDER BY 2, 1",
            .integer(Int64(CampaignCredit.code.value))) { $0.text(0) }
        var revived = 0
        for key in keys {
            let copies = try connection.all("SELECT body, duplicate FROM ledger_entries WHERE idem_key = ?", .text(key)) {
                (entry: try decode($0), duplicate: $0.int64(1) == 1)
            }
            let counting = Set(copies.filter { !$0.duplicate }.map(\.entry.requestHash))
            let byRequest = Dictionary(grouping: copies.filter(\.duplicate).map(\.entry), by: \.requestHash)
            for (hash, entries) in byRequest.sorted(by: { $0.key.hex < $1.key.hex }) where !counting.contains(hash) {
                guard let earliest = entries.min(by: ReplicationRules.precedes) else { continue }
                if let purchase = CampaignCredit.countsWith(earliest), try database.isDuplicate(purchase) { continue }
                try connection.run("UPDATE ledger_entries SET duplicate = 0 WHERE origin = ? AND seq = ?",
                                   .text(earliest.id.origin.rawValue), .integer(earliest.id.sequence))
                try database.count(earliest, sign: 1)
                revived += 1
            }
        }
        guard revived > 0 else { return }
        progress("clashing writes: \(revived) entries kept as duplicates of a different request now count; folding lots again")
        try refoldAllLots(connection, progress: progress)
    }
}
