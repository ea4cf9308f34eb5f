import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshStore

/// `pointmesh-bench budget`: what a chain budget's check costs a purchase at a store that holds
/// years of the chain's issuance counters. Two stores in this process, each fed plain purchases
/// through its group-commit writer in rounds of alternating order: one without budgets, and one
/// with a chain budget for the month and the monthly counters of `--stores` stores over 36
/// months (written into its database before it opens, as replication would have left them).
/// The figure is each writer thread's CPU time per purchase, and the ratio of the two.
enum BudgetBench: Command {
    static let name = "budget"
    static let summary = "a chain budget's cost per purchase against none"
    static let requests = Option("requests", .value("N"), "purchases per store and round (default 3000)")
    static let pairs = Option("pairs", .value("N"), "rounds (default 6)")
    static let stores = Option("stores", .value("N"), "stores whose counters the chain budget sums (default 1000)")
    static let options: [Option] = [requests, pairs, stores, Bench.directory]
    static let description = """
        plain purchases at two stores in one process, in rounds of alternating order: one without
        budgets, one with a chain budget for the month and the issuance counters of N stores over 36
        months; the writer's CPU time per purchase at each, and the ratio.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer(Self.requests) ?? 3_000)
        let rounds = Int(try arguments.integer(Self.pairs) ?? 6)
        let stores = Int(try arguments.integer(Self.stores) ?? 1_000)
        let group = 15
        guard requests > 0, rounds > 0, (1...100_000).contains(stores) else {
            throw UsageError(message: "--requests and --pairs must be positive, --stores 1…100000")
        }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        print("pointmesh-bench budget: \(requests) plain purchases per store and round, \(rounds) rounds, groups of \(group) writes; "
              + "a chain budget over the counters of \(stores) stores × 36 months")
        let month = CalendarMonth(containing: Int64(Date().timeIntervalSince1970 * 1000))
        try seedCounters(in: scratch + "/budget", stores: stores, through: month)

        let opened = [("none", try WriterBench.openStore(directory: scratch + "/none", name: "none")),
                      ("budget", try WriterBench.openStore(directory: scratch + "/budget", name: "budget"))]
        defer { for (_, store) in opened { store.store.close() } }
        let budget = PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .chain, points: Points(1_000_000_000_000)), versions: 0)
        _ = try opened[1].1.store.write(budget, context: RequestContext(node: opened[1].1.store.nodeID, now: Int64(Date().timeIntervalSince1970 * 1000)))

        var micros: [String: [Double]] = [:]
        for round in 0..<rounds {
            for (name, (store, writer)) in round % 2 == 0 ? opened : opened.reversed() {
                let before = WriterBench.threadCPUSeconds(writer)
                try WriterBench.purchases(store, count: requests, group: group, items: false, tag: "\(name)-\(round)")
                micros[name, default: []].append((WriterBench.threadCPUSeconds(writer) - before) * 1e6 / Double(requests))
            }
            print(String(format: "round %d  writer µs per purchase: no budget %.1f, chain budget %.1f", round + 1, micros["none"]?.last ?? 0, micros["budget"]?.last ?? 0))
        }
        func mean(_ name: String) -> Double { (micros[name] ?? []).reduce(0, +) / Double(rounds) }
        print(String(format: "mean writer µs per purchase: no budget %.1f, chain budget %.1f; no budget's over chain budget's: %.3f",
                     mean("none"), mean("budget"), mean("none") / mean("budget")))
        return 0
    }

    /// A store's database with every store's monthly issuance counter for the 36 months to `month`.
    private static func seedCounters(in directory: String, stores: Int, through month: CalendarMonth) throws {
        try WriterBench.openStore(directory: directory, name: "budget").store.close()
        let connection = try SQLiteConnection(path: LedgerStore.databasePath(in: directory), mode: .readWrite)
        defer { connection.close() }
        try connection.transaction {
            for store in 0..<stores {
                var counted = month
                for _ in 0..<36 {
                    let node = NodeID(unchecked: "store-\(store)")
                    try connection.run("INSERT INTO balances (account, asset, origin, debits_posted) VALUES (?, ?, ?, 1000)",
                                       .text(LedgerAccount.issued(by: node, in: counted).name), .integer(Int64(Asset.points.code)), .text(node.rawValue))
                    (counted.year, counted.month) = counted.month == 1 ? (counted.year - 1, 12) : (counted.year, counted.month - 1)
                }
            }
        }
    }
}
