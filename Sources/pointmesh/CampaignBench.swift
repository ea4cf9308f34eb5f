import Foundation
import PointMeshCore
import PointMeshHTTP

/// `pointmesh bench campaigns`: the acknowledged purchase rate of a 20-item receipt under 10
/// campaigns in force, against a plain purchase's and a 20-item receipt's without campaigns, on
/// fresh nodes at the same client count, in interleaved sets (this machine's disk rate drifts),
/// with the raw SQLite baseline.
enum CampaignBench {
    static let categories = (0..<10).map { "cat-\($0)" }

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer("requests") ?? 5_000)
        let clients = Int(try arguments.integer("clients") ?? 32)
        let pairs = Int(try arguments.integer("pairs") ?? 3)
        let green = !arguments.has("without-green")
        guard requests > 0, clients > 0, pairs > 0 else { throw UsageError(message: "--requests, --clients and --pairs must be positive") }
        let scratch = try BenchCommand.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        print("pointmesh bench campaigns: \(requests) purchases per phase, \(clients) clients, \(pairs) pairs, \(ProcessInfo.processInfo.activeProcessorCount) cores, "
              + (green ? "one green category" : "no green category"))
        let baseline = try SQLiteBaseline.perRowCommits(path: scratch + "/baseline.sqlite", rows: requests)
        print(String(format: "baseline  raw SQLite, minimal table, 1 transaction per row: %8.0f rows/s", baseline))
        var ratios: [Double] = [], itemRatios: [Double] = [], cpuTotals: [String: Double] = [:]
        for pair in 0..<pairs {
            // Every other set runs its phases in the reverse order, so a drift of the machine
            // during a set (the disk, the page cache) does not always favour the same phase.
            var rates: [String: Double] = [:], cpu: [String: Double] = [:]
            let phases: [(name: String, items: Bool, campaigns: Bool)] = [("plain", false, false), ("items", true, false), ("campaigns", true, true)]
            for kind in pair % 2 == 0 ? phases : phases.reversed() {
                (rates[kind.name], cpu[kind.name]) = try phase(scratch + "/\(kind.name)-\(pair)", arguments: arguments, clients: clients,
                                                               requests: requests, items: kind.items, campaigns: kind.campaigns, green: green)
            }
            for (name, value) in cpu { cpuTotals[name, default: 0] += value }
            let plain = rates["plain"] ?? 0, items = rates["items"] ?? 0, loaded = rates["campaigns"] ?? 0
            ratios.append(loaded / plain)
            itemRatios.append(items / plain)
            print(String(format: "set %d  plain %6.0f /s (%.2fx baseline)  20 items %6.0f /s (%.3f of plain)  20 items under 10 campaigns %6.0f /s (%.3f of plain)",
                         pair + 1, plain, plain / baseline, items, items / plain, loaded, loaded / plain))
            print(String(format: "       node CPU per purchase: plain %.0f µs, 20 items %.0f µs, 20 items under 10 campaigns %.0f µs",
                         cpu["plain"] ?? 0, cpu["items"] ?? 0, cpu["campaigns"] ?? 0))
        }
        print(String(format: "mean, of a plain purchase's rate: 20 items %.3f, 20 items under 10 campaigns %.3f",
                     itemRatios.reduce(0, +) / Double(pairs), ratios.reduce(0, +) / Double(pairs)))
        print(String(format: "mean node CPU per purchase: plain %.0f µs, 20 items %.0f µs, 20 items under 10 campaigns %.0f µs",
                     (cpuTotals["plain"] ?? 0) / Double(pairs), (cpuTotals["items"] ?? 0) / Double(pairs), (cpuTotals["campaigns"] ?? 0) / Double(pairs)))
        return 0
    }

    /// One phase on a fresh node: with `campaigns`, 10 campaigns are published first (multipliers
    /// on categories, a whole-receipt multiplier, bonuses), with `green` a category is marked
    /// green, and each purchase carries 20 items.
    /// Returns the acknowledged rate and the node's CPU time (user and system) per purchase, in µs.
    static func phase(_ directory: String, arguments: CommandLineArguments, clients: Int, requests: Int, items withItems: Bool,
                      campaigns: Bool, green: Bool) throws -> (rate: Double, cpu: Double) {
        // The previous phase's dirty pages are written back first, not during this phase's fsyncs.
        sync()
        let node = try BenchNode(dataDirectory: directory, binary: arguments.value("node-binary"))
        defer { node.stop() }
        if campaigns {
            let http = HTTPClient(address: node.httpAddress)
            for index in 0..<10 {
                let effect = index < 6 ? #""multiplier":\#(2 + index % 3)"# : #""bonus_points":\#(index)"#
                let filter = index < 5 ? #","categories":["\#(categories[index])","\#(categories[index + 5])"]"# : ""
                let body = #"{"name":"bench \#(index)","starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z",\#(effect)\#(filter)}"#
                _ = try http.send("PUT", "/v1/campaigns/bench-\(index)", body: Array(body.utf8))
            }
            if green { _ = try http.send("PUT", "/v1/categories/cat-3/green", body: nil) }
            // The node sweeps new campaigns for late credits once (`LateCampaignSweeper`): let
            // that one-off pass finish, so the phase measures purchases under campaigns in force.
            Thread.sleep(forTimeInterval: 1.5)
        }
        let items = (0..<20).map { #"{"sku":"sku-\#($0)","category":"\#(categories[$0 % 10])","amount_fen":600}"# }.joined(separator: ",")
        let cpuBefore = node.cpuSeconds()
        let rate = try BenchCommand.purchaseRate(address: node.httpAddress, clients: clients, requests: requests, tag: campaigns ? "k" : "p") { receipt, account in
            withItems ? #"{"receipt_id":"\#(receipt)","account_id":"\#(account)","amount_fen":12345,"items":[\#(items)]}"#
                : #"{"receipt_id":"\#(receipt)","account_id":"\#(account)","amount_fen":12345}"#
        }
        return (rate, (node.cpuSeconds() - cpuBefore) * 1e6 / Double(requests))
    }
}
