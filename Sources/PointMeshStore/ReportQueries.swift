import PointMeshCore

/// What the reports read beside the kept sums (`ReportSums`): every customer account's counting
/// entries up to an instant (the liability at an instant before the newest entry), and the
/// counting entries of a part of a day. The figures are the core's (`LiabilityReport`,
/// `ActivityReport`); each entry comes with whether it stands on the history held, as the lot
/// fold reads it.
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

    /// The liability at `asOf`: from the kept sums when no entry held was made after it (they
    /// are sums of every entry held), otherwise folded from the entries. Without `asOf`, at
    /// `now` or at the newest entry held if that is later (a store whose clock runs ahead
    /// writes entries in this node's future; "now" is then everything held, from the sums).
    public func liabilityReport(asOf: Int64?, now: Int64) throws -> LiabilityReport {
        let newest = try newestEntryTime() ?? .min
        let instant = asOf ?? max(now, newest)
        return try newest <= instant ? liabilityFromSums(asOf: instant) : liability(asOf: instant)
    }

    /// The activity of `period`: whole days from the kept sums, the parts of days it cuts from
    /// their entries, and the points that expired in it up to `now`.
    public func activityReport(period: Range<Int64>, grouping: ActivityReport.Grouping, catalog: Catalog, now: Int64) throws -> ActivityReport {
        var report = ActivityReport(period: period, grouping: grouping)
        for (cell, points) in try dayCells(days: DayCell.wholeDays(in: period), dimensions: grouping.dimensions) { report.add(cell, points, catalog: catalog) }
        for part in DayCell.partialDays(of: period) {
            try countingEntries(during: part) { entry, stands in
                guard stands else { return }
                do {
                    try report.add(entry, catalog: catalog)
                } catch {
                    throw StoreError.corruptRow("entry \(entry.id) does not read: \(error)")
                }
            }
        }
        for lot in try expiredLots(during: period.lowerBound..<min(period.upperBound, now + 1)) {
            report.addExpired(lot.points, at: lot.expiresAt, store: lot.store)
        }
        return report
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
}
