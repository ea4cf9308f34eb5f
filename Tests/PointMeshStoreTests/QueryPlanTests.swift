import PointMeshCore
@testable import PointMeshStore
import Foundation
import Testing

/// Queries every write runs use the indexes made for them: each was once a scan that grew with
/// the ledger, on every purchase.
@Suite struct QueryPlanTests {
    /// Every earning reads the policy versions; that query must use the partial index, not scan
    /// every entry (it did, and a purchase cost a full scan of the ledger).
    @Test func thePolicyLookupUsesItsIndex() throws {
        let (database, directory) = try scratchDatabase()
        defer { database.connection.close(); try? FileManager.default.removeItem(atPath: directory) }
        for sql in [LedgerReader.policyVersionsSQL, LedgerReader.joinsSQL] {
            let plan = try database.connection.all("EXPLAIN QUERY PLAN " + sql, .integer(4)) { $0.text(3) }
            #expect(plan.contains { $0.contains("USING INDEX ledger_entries_by_rare_code") }, "\(plan)")
            #expect(!plan.contains { $0.contains("SCAN ledger_entries") }, "\(plan)")
        }
    }

    /// A chain budget's check sums the month's issuance counters of every store through their
    /// index (it scanned every store's counters of every month, on every purchase), and only
    /// those: not other months, not the counters without a month, not other assets.
    @Test func theChainIssuedThisMonthIsReadThroughItsIndex() throws {
        let (database, directory) = try scratchDatabase()
        defer { database.connection.close(); try? FileManager.default.removeItem(atPath: directory) }
        let plan = try database.connection.all("EXPLAIN QUERY PLAN " + LedgerReader.chainIssuedSQL, .text("2026-11"), .integer(1), .text("@issued:*:2026-11")) { $0.text(3) }
        #expect(plan.contains { $0.contains("USING INDEX balances_issued_by_month") } && !plan.contains { $0.contains("SCAN") }, "\(plan)")
        let month = try #require(CalendarMonth("2026-11"))
        let points = Int64(Asset.points.code)
        for (account, asset, issued) in [("@issued:s1:2026-11", points, 100), ("@issued:s2:2026-11", points, 20), ("@issued:s1:2026-10", points, 4_000),
                                         ("@issued:s1", points, 50_000), ("@issued:s3:2026-11", points + 1, 700), ("@redeemed", points, 9)] as [(String, Int64, Int64)] {
            try database.connection.run("INSERT INTO balances (account, asset, origin, debits_posted) VALUES (?, ?, 'o', ?)",
                                        .text(account), .integer(asset), .integer(issued))
        }
        #expect(try database.reader.issued(by: nil, in: month) == Points(120))
        #expect(try database.reader.issued(by: NodeID(unchecked: "s1"), in: month) == Points(100))
    }
}
