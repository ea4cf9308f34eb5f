import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

/// `pointmesh-bench account-read`: one account with N lots and N redemptions, written straight
/// into a node's ledger; then the node answers `GET /v1/accounts/{id}` (and a page of its
/// history) over loopback, timed per request, against the floor of reading N rows of a minimal
/// SQLite table.
enum AccountReadBench: Command {
    static let name = "account-read"
    static let summary = "the account view and a history page of an account with N lots"
    static let lots = Option("lots", .value("N"), "lots and redemptions of the account (default 10000)")
    static let options: [Option] = [lots, Bench.nodeBinary, Bench.directory]
    static let description = """
        one account with N lots and N redemptions written into a node's ledger; the node's answer
        time for the account view and a history page, per request, against the time raw SQLite takes
        to sum N rows of a minimal table.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let lots = Int(try arguments.integer(Self.lots) ?? 10_000)
        guard lots > 0 else { throw UsageError(message: "--lots must be positive") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let directory = scratch + "/node"
        print("pointmesh-bench account-read: 1 account, \(lots) lots of 20 points, \(lots) redemptions of 1 point")
        let started = DispatchTime.now()
        try fill(directory: directory, lots: lots)
        print(String(format: "filled in %.1f s (%d entries written through the store's append, lots kept as they go)",
                     Bench.seconds(since: started), 2 * lots))

        let baseline = try SQLiteBaseline.rangeRead(path: scratch + "/baseline.sqlite", rows: lots, repeats: 200)
        print(String(format: "baseline  raw SQLite, sum over %d rows of a minimal table:   %6.2f ms", lots, baseline))
        let node = try BenchNode(dataDirectory: directory, binary: arguments.value(Bench.nodeBinary))
        defer { node.stop() }
        let http = HTTPClient(address: node.httpAddress)
        for (name, path) in [("account view", "/v1/accounts/heavy"), ("history page", "/v1/accounts/heavy/entries?limit=50")] {
            for _ in 0..<20 { _ = try http.send("GET", path) }
            var times: [Double] = []
            for _ in 0..<300 {
                let start = DispatchTime.now()
                let response = try http.send("GET", path)
                times.append(Bench.seconds(since: start) * 1000)
                guard response.status == 200 else { throw UsageError(message: "\(path) answered \(response.status)") }
            }
            times.sort()
            let median = times[times.count / 2], p99 = times[times.count * 99 / 100]
            print(String(format: "http      %@: median %6.2f ms, p99 %6.2f ms, max %6.2f ms   median / baseline %.2fx",
                         name, median, p99, times.last ?? 0, median / baseline))
        }
        let view = try JSONParser.parse(try http.send("GET", "/v1/accounts/heavy").body)
        print("account: balance \(view["balance"]?.integerValue.map(String.init) ?? "?"), \(view["expiring"]?.arrayValue?.count ?? 0) expiry instants shown")
        return 0
    }

    /// Lots earned every 30 minutes over the past ~200 days, each followed by a 1-point
    /// redemption; all still live under the standard policy.
    private static func fill(directory: String, lots: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
        defer { database.connection.close() }
        try database.connection.execute("PRAGMA synchronous = OFF")
        let origin = NodeID(unchecked: "bench-origin"), account = AccountID(unchecked: "heavy")
        let start = Int64(Date().timeIntervalSince1970 * 1000) - Int64(lots) * 1_800_000 - 86_400_000
        var sequence: Int64 = 0
        for first in stride(from: 0, to: lots, by: 1_000) {
            try database.connection.transaction {
                for index in first..<min(lots, first + 1_000) {
                    let earned = start + Int64(index) * 1_800_000
                    sequence += 1
                    let receipt = ReceiptID(unchecked: "B\(index)")
                    let terms = LotEvents.Terms(move: 0, maturesAt: earned, expiresAt: ExpiryPolicyVersion.standard.rule.expiry(earnedAt: earned),
                                                policy: ExpiryPolicyVersion.standard.id)
                    try database.append(LedgerEntry(
                        id: EntryID(origin: origin, sequence: sequence), timestamp: HLCTimestamp(wallMilliseconds: earned, logical: 0),
                        code: Earn.code, idempotencyKey: IdempotencyKey(scope: Earn.scope, id: receipt.rawValue),
                        requestHash: RequestHash(canonical: receipt.rawValue),
                        moves: Earn.moves(customer: account, earned: Points(20), repaid: .zero, store: origin),
                        details: Earn.details(receipt: receipt, amount: Fen(2_000), items: [], balanceAfter: .zero, terms: terms)))
                    sequence += 1
                    try database.append(LedgerEntry(
                        id: EntryID(origin: origin, sequence: sequence), timestamp: HLCTimestamp(wallMilliseconds: earned + 1, logical: 0),
                        code: Redemption.code, idempotencyKey: IdempotencyKey(scope: Redemption.scope, id: "Q\(index)"),
                        requestHash: RequestHash(canonical: "Q\(index)"),
                        moves: Redemption.moves(account: account, points: Points(1), reward: nil),
                        details: Redemption.details(reward: nil, member: nil, balanceAfter: .zero)))
                }
            }
        }
    }
}
