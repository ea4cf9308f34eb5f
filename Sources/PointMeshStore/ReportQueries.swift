import PointMeshCore

/// What the reports read: every customer account's counting entries up to an instant, the
/// counting entries of a period, and the lots that expired in it. The figures are the core's
/// (`LiabilityReport`, `ActivityReport`); each entry comes with whether it stands on the
/// history held, as the lot fold reads it.
extension LedgerReader {
    /// Runs `body` in one read transaction, so every query in it sees the same commit: a report
    /// read while gossip commits must not see a transfer's credit without its debit.
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        try connection.transaction(immediate: false, body)
    }

    /// The highest sequence held from each of `origins` (a row each, by key).
    public func versionVector(of origins: some Sequence<NodeID>) throws -> VersionVector {
        var vector = VersionVector()
        for origin in origins {
            if let sequence = try connection.first("SELECT MAX(seq) FROM ledger_entries WHERE origin = ?", .text(origin.rawValue), row: { $0.int64(0) }),
               sequence > 0 {
                vector.advance(origin, to: sequence)
            }
        }
        return vector
    }

    /// The liability at `asOf`: each customer account's counting entries up to it, folded.
    public func liability(asOf: Int64) throws -> LiabilityReport {
        var report = LiabilityReport(asOf: asOf)
        let accounts = try connection.all("SELECT DISTINCT account FROM entry_accounts WHERE hlc_wall <= ? ORDER BY account", .integer(asOf)) {
            AccountID(unchecked: $0.text(0))
        }
        for account in accounts {
            var entries: [(entry: LedgerEntry, stands: Bool)] = []
            try connection.withStatement("""
                SELECT e.body FROM entry_accounts a JOIN ledger_entries e ON e.origin = a.origin AND e.seq = a.seq
                WHERE a.account = ? AND a.hlc_wall <= ? AND e.duplicate = 0
                ORDER BY a.hlc_wall, a.hlc_logical, a.origin, a.seq
                """, [.text(account.rawValue), .integer(asOf)]) { row in
                while try row.step() {
                    let entry = try Self.decode(row)
                    entries.append((entry, try EntryCondition.stands(entry, in: self)))
                }
            }
            do {
                try report.add(account, entries: entries)
            } catch {
                throw StoreError.corruptRow("account \(account): an entry's lot terms do not read: \(error)")
            }
        }
        return report
    }

    /// Calls `body` with each counting entry made in `period`, in ledger order, and whether it
    /// stands.
    public func countingEntries(during period: Range<Int64>, _ body: (LedgerEntry, Bool) throws -> Void) throws {
        try connection.withStatement("""
            SELECT body FROM ledger_entries WHERE hlc_wall >= ? AND hlc_wall < ? AND duplicate = 0
            ORDER BY hlc_wall, hlc_logical, origin, seq
            """, [.integer(period.lowerBound), .integer(period.upperBound)]) { row in
            while try row.step() {
                let entry = try Self.decode(row)
                try body(entry, try EntryCondition.stands(entry, in: self))
            }
        }
    }

    /// The points left in lots when they expired in `period`, with the instant and the store
    /// whose entry credited each lot.
    public func expiredLots(during period: Range<Int64>) throws -> [(points: Points, expiresAt: Int64, store: NodeID)] {
        try connection.all("SELECT origin, expires_at, remaining + twin_remaining FROM lots WHERE expires_at >= ? AND expires_at < ?",
                           .integer(period.lowerBound), .integer(period.upperBound)) {
            (Points($0.int64(2)), $0.int64(1), NodeID(unchecked: $0.text(0)))
        }
    }
}
