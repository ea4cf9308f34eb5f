import Foundation
import PointMeshCore
import PointMeshJSON
@testable import PointMeshStore
import PointMeshSimulation
import Testing

private let day = CivilCalendar.millisecondsPerDay

/// The sums the reports read (`ReportSums`) against the reports folded from every entry, on
/// histories of two cut-off stores (refunds voided by the other's, transfers the converged
/// membership voids, extensions, return windows, a 20-day policy) applied in two arrival
/// orders.
@Suite struct ReportSumsTests {
    /// Both stores' entries in ledger order, one at a time; and one store's after the other's,
    /// in batches (each landing before entries already held).
    private func databases(seed: UInt64) throws -> [(LedgerWriter, String)] {
        let stores = try randomEntries(seed: seed)
        let inOrder = try scratchDatabase(), late = try scratchDatabase()
        for entry in stores.flatMap({ $0 }).sorted(by: { LotOrder($0) < LotOrder($1) }) {
            try inOrder.0.connection.transaction { try inOrder.0.applyReceived([entry]) }
        }
        for entries in stores.reversed() {
            for start in stride(from: 0, to: entries.count, by: 23) {
                try late.0.connection.transaction { try late.0.applyReceived(Array(entries[start..<min(entries.count, start + 23)])) }
            }
        }
        return [inOrder, late]
    }

    private func close(_ databases: [(LedgerWriter, String)]) {
        for (database, directory) in databases {
            database.connection.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// The liability from the sums equals the fold of every account's entries at instants from
    /// the newest entry on (lots pending, expiring later that day, expired, breakage).
    @Test(arguments: [1, 2, 3, 4] as [UInt64]) func theLiabilityFromTheSumsEqualsTheFold(seed: UInt64) throws {
        let all = try databases(seed: seed)
        defer { close(all) }
        for (database, _) in all {
            #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
            let newest = try #require(try database.reader.newestEntryTime())
            for asOf in [newest, newest + day / 3, newest + 2 * day + 1, newest + 12 * day, newest + 45 * day, newest + 400 * day] {
                let summed = try database.reader.liabilityFromSums(asOf: asOf), folded = try database.reader.liability(asOf: asOf)
                let (sums, fold) = (summed.json(value: nil, freshness: [], now: 0).serialized, folded.json(value: nil, freshness: [], now: 0).serialized)
                #expect(sums == fold, "seed \(seed), as of newest + \(asOf - newest) ms:\n\(sums)\n\(fold)")
                #expect(try database.reader.liabilityReport(asOf: asOf, now: 0).json(value: nil, freshness: [], now: 0) == summed.json(value: nil, freshness: [], now: 0))
            }
            // Before the newest entry the report folds (the sums hold entries after it).
            let earlier = newest - 10 * day
            #expect(try database.reader.liabilityReport(asOf: earlier, now: newest).json(value: nil, freshness: [], now: 0)
                    == database.reader.liability(asOf: earlier).json(value: nil, freshness: [], now: 0))
            // Without an instant, "now" behind the newest entry (a store's clock ahead of this
            // node's) reads as of the newest entry, from the sums.
            let now = try database.reader.liabilityReport(asOf: nil, now: newest - 60_000), folded = try database.reader.liability(asOf: newest)
            #expect(now.asOf == newest && now.json(value: nil, freshness: [], now: 0) == folded.json(value: nil, freshness: [], now: 0))
            #expect(try database.reader.liabilityReport(asOf: nil, now: newest + day).asOf == newest + day)
        }
    }

    /// A store whose points are all pending at `as_of` has no row in `by_store`, from the sums
    /// as in the fold (the sums count its lots as spendable, then move them to pending).
    @Test func aStoreWhosePointsAreAllPendingHasNoRow() throws {
        var first = MemoryLedger(origin: NodeID(unchecked: "s1")), second = MemoryLedger(origin: NodeID(unchecked: "s2"))
        _ = try first.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "ann"), amount: Fen(10_000))),
                            now: day)
        _ = try second.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R2"), account: AccountID(unchecked: "bob"), amount: Fen(5_000))),
                             now: 2 * day, settings: NodeSettings(returnWindow: 5 * day))
        let (database, directory) = try scratchDatabase()
        defer { database.connection.close(); try? FileManager.default.removeItem(atPath: directory) }
        try database.connection.transaction { try database.applyReceived(first.allEntries + second.allEntries) }
        let summed = try database.reader.liabilityFromSums(asOf: 2 * day + 1)
        #expect(summed.byStore.keys.sorted() == [NodeID(unchecked: "s1")] && summed.pendingPoints == Points(50))
        #expect(summed.json(value: nil, freshness: [], now: 0) == (try database.reader.liability(asOf: 2 * day + 1)).json(value: nil, freshness: [], now: 0))
    }

    /// A green earning written here keeps its two lots in one row (`LotPair`); when they expire
    /// unspent, an activity period that cuts the day of their expiry reads both from the row.
    @Test func aGreenPairThatExpiresOnACutDayCountsBothLots() throws {
        let (database, directory) = try scratchDatabase()
        defer { database.connection.close(); try? FileManager.default.removeItem(atPath: directory) }
        let origin = NodeID(unchecked: "w0"), tea = CategoryID(unchecked: "tea"), alice = AccountID(unchecked: "alice")
        var clock = HybridLogicalClock(), now: Int64 = day
        func write(_ write: PreparedWrite, at instant: Int64) throws {
            now = instant
            try database.writeDecided(write, origin: origin, clock: &clock, now: now)
        }
        try write(PreparedWrite(ExpiryPolicyKind.self, ExpiryPolicyKind.Request(version: RequestID(unchecked: "d20"), rule: .days(20), effectiveAt: 32 * day)), at: day)
        try write(PreparedWrite(GreenCategory.self, tea), at: day + 1_000)
        let items = [PurchaseItem(sku: SKU(unchecked: "leaf"), category: tea, amount: Fen(3_000)),
                     PurchaseItem(sku: SKU(unchecked: "pot"), category: CategoryID(unchecked: "tools"), amount: Fen(7_000))]
        try write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: alice, amount: Fen(10_000), items: items)), at: 40 * day + 3_600_000)
        #expect(try database.connection.first("SELECT COUNT(twin_move) FROM lots") { $0.int64(0) } == 1, "the two lots share a row")
        let expiry = 60 * day + 3_600_000, period = (expiry - 1_800_000)..<(expiry + 1_800_000)
        let report = try database.reader.activityReport(period: period, grouping: .store, catalog: database.reader.catalog(), now: 70 * day)
        #expect(report.total.expired == Points(100), "\(report.rows)")
        let whole = try database.reader.activityReport(period: (58 * day)..<(62 * day), grouping: .day, catalog: database.reader.catalog(), now: 70 * day)
        #expect(whole.total.expired == Points(100), "\(whole.rows)")
    }

    /// The activity of periods that start and end mid-day, on midnight and inside one day, by
    /// each grouping, equals a fold of the period's entries and of its lots.
    @Test(arguments: [5, 6, 7] as [UInt64]) func theActivityFromTheSumsEqualsTheFold(seed: UInt64) throws {
        let all = try databases(seed: seed)
        defer { close(all) }
        var random = SplitMix64(seed: seed)
        for (database, _) in all {
            let reader = database.reader, catalog = try reader.catalog()
            let newest = try #require(try reader.newestEntryTime())
            var periods: [Range<Int64>] = [0..<(newest + 100 * day), (20 * day)..<(40 * day), (20 * day + 1)..<(20 * day + 2 * 3_600_000)]
            for _ in 0..<6 {
                let start = Int64(random.next() % UInt64(newest + 30 * day))
                periods.append(start..<(start + 1 + Int64(random.next() % UInt64(50 * day))))
            }
            for period in periods {
                for grouping in ActivityReport.Grouping.allCases {
                    let now = newest + 60 * day
                    let summed = try reader.activityReport(period: period, grouping: grouping, catalog: catalog, now: now)
                    var folded = ActivityReport(period: period, grouping: grouping)
                    try reader.countingEntries(during: period) { entry, stands in if stands { try folded.add(entry, catalog: catalog) } }
                    for lot in try reader.connection.all("SELECT origin, expires_at, remaining + twin_remaining FROM lots WHERE expires_at >= ? AND expires_at < ?",
                                                         .integer(period.lowerBound), .integer(min(period.upperBound, now + 1)), row: {
                        (NodeID(unchecked: $0.text(0)), $0.int64(1), Points($0.int64(2)))
                    }) {
                        folded.addExpired(lot.2, at: lot.1, store: lot.0)
                    }
                    #expect(summed.rows == folded.rows, "seed \(seed), \(grouping) over \(period): \(summed.rows.count) rows, folded \(folded.rows.count)")
                }
            }
        }
    }

    /// Sums changed behind the writer's back are found by verify and written again by the
    /// rebuild.
    @Test func verifyFindsSumsThatDisagreeAndTheRebuildMendsThem() throws {
        let (database, directory) = try scratchDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try database.connection.transaction { try database.applyReceived(try randomEntries(seed: 8).flatMap { $0 }) }
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
        try database.connection.execute("UPDATE day_totals SET points = points + 1 WHERE (day, dimension, key, figure) IN (SELECT day, dimension, key, figure FROM day_totals LIMIT 1)")
        try database.connection.execute("DELETE FROM lot_totals WHERE (expires_day, origin) IN (SELECT expires_day, origin FROM lot_totals WHERE remaining > 0 LIMIT 1)")
        let problems = try LedgerVerifier(reader: database.reader).verify().map(\.description)
        #expect(problems.contains { $0.hasPrefix("report sum ") } && problems.contains { $0.hasPrefix("points left in lots by expiry") }, "\(problems)")
        database.connection.close()
        try LedgerStore.rebuildReportSums(in: directory) { _ in }
        let reopened = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
        defer { reopened.connection.close() }
        #expect(try LedgerVerifier(reader: reopened.reader).verify().isEmpty)
    }
}
