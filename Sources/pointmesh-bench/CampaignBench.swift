import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP

/// `pointmesh-bench campaigns`: the acknowledged purchase rate of a 20-item receipt under 10
/// campaigns in force, against a plain purchase's and a 20-item receipt's without campaigns, on
/// fresh nodes at the same client count, in interleaved sets (this machine's disk rate drifts),
/// with the raw SQLite baseline.
enum CampaignBench: Command {
    static let name = "campaigns"
    static let summary = "purchases under 10 campaigns against plain and 20-item purchases"
    static let requests = Option("requests", .value("N"), "purchases per phase (default 5000)")
    static let clients = Option("clients", .value("N"), "clients (default 32)")
    static let pairs = Option("pairs", .value("N"), "sets (default 3)")
    static let bursts = Option("bursts", .value("N"), "run a set's three nodes side by side, each phase in N bursts that take turns (default 1: one node after the other, one burst each)")
    static let withoutGreen = Option("without-green", "no green category: the campaigns alone")
    static let options: [Option] = [requests, clients, pairs, bursts, withoutGreen, Bench.nodeBinary, Bench.directory]
    static let description = """
        in interleaved sets of fresh nodes (every other set in reverse order), the acknowledged
        rate of plain purchases, of 20-item purchases, and of 20-item purchases under 10 campaigns in
        force, their ratios to the plain rate (mean with its 95% interval, median and middle half of
        the sets), and per purchase in each the node's CPU time, its writer thread's and its event
        loop's, the bytes it wrote to disk, the writes per group commit and a commit's duration; and
        the raw SQLite baseline. One of the 10 categories is green, so every purchase under campaigns
        also makes a green lot.
        """

    static let categories = (0..<10).map { "cat-\($0)" }

    /// Campaign `index` of the 10: six multipliers (five on two categories each, one on the
    /// whole receipt), then four bonuses.
    static func campaignBody(_ index: Int) -> String {
        let effect = index < 6 ? #""multiplier":\#(2 + index % 3)"# : #""bonus_points":\#(index)"#
        let filter = index < 5 ? #","categories":["\#(categories[index])","\#(categories[index + 5])"]"# : ""
        return #"{"name":"bench \#(index)","starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","backdate_reason":"bench",\#(effect)\#(filter)}"#
    }

    /// The 20 lines of a receipt with items: 6 yuan each, two per category.
    static let items = (0..<20).map { #"{"sku":"sku-\#($0)","category":"\#(categories[$0 % 10])","amount_fen":600}"# }.joined(separator: ",")

    /// A purchase as a till sends it: 123.45 yuan, with the 20 lines or without.
    static func purchaseBody(receipt: String, account: String, items withItems: Bool) -> String {
        withItems ? #"{"receipt_id":"\#(receipt)","account_id":"\#(account)","amount_fen":12345,"items":[\#(items)]}"#
            : #"{"receipt_id":"\#(receipt)","account_id":"\#(account)","amount_fen":12345}"#
    }

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer(Self.requests) ?? 5_000)
        let clients = Int(try arguments.integer(Self.clients) ?? 32)
        let pairs = Int(try arguments.integer(Self.pairs) ?? 3)
        let bursts = Int(try arguments.integer(Self.bursts) ?? 1)
        let green = !arguments.has(Self.withoutGreen)
        guard requests > 0, clients > 0, pairs > 0, bursts > 0 else { throw UsageError(message: "--requests, --clients, --pairs and --bursts must be positive") }
        guard requests / bursts >= clients else { throw UsageError(message: "--requests / --bursts must be at least --clients: each burst gives every client a purchase") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        print("pointmesh-bench campaigns: \(requests) purchases per phase, \(clients) clients, \(pairs) pairs, \(ProcessInfo.processInfo.activeProcessorCount) cores, "
              + (green ? "one green category" : "no green category") + (bursts > 1 ? ", in \(bursts) bursts per phase taking turns" : ""))
        let baseline = try SQLiteBaseline.perRowCommits(path: scratch + "/baseline.sqlite", rows: requests)
        print(String(format: "baseline  raw SQLite, minimal table, 1 transaction per row: %8.0f rows/s", baseline))
        let names = ["plain", "items", "campaigns"]
        var figures: [String: [PhaseFigures]] = [:]
        for pair in 0..<pairs {
            // Every other set runs its phases in the reverse order, so a drift of the machine
            // during a set (the disk, the page cache) does not always favour the same phase.
            var set: [String: PhaseFigures] = [:]
            let phases: [(name: String, items: Bool, campaigns: Bool)] = [("plain", false, false), ("items", true, false), ("campaigns", true, true)]
            let order = pair % 2 == 0 ? phases : phases.reversed()
            func node(_ kind: (name: String, items: Bool, campaigns: Bool)) throws -> PhaseNode {
                try PhaseNode(scratch + "/\(kind.name)-\(pair)", arguments: arguments, clients: clients, items: kind.items, campaigns: kind.campaigns, green: green)
            }
            if bursts == 1 {
                for kind in order {
                    let phase = try node(kind)
                    defer { phase.stop() }
                    try phase.burst(requests)
                    set[kind.name] = phase.figures
                }
            } else {
                // The three nodes run side by side and take turns, a burst each, in an order that
                // rotates: a drift of the machine during the set reaches the three alike.
                var nodes: [PhaseNode] = []
                defer { for phase in nodes { phase.stop() } }
                for kind in order { nodes.append(try node(kind)) }
                for round in 0..<bursts {
                    for offset in nodes.indices {
                        // The last burst's dirty pages and checkpoint are done first.
                        sync()
                        Thread.sleep(forTimeInterval: 0.2)
                        try nodes[(round + offset) % nodes.count].burst(requests / bursts + (round < requests % bursts ? 1 : 0))
                    }
                }
                for (kind, phase) in zip(order, nodes) { set[kind.name] = phase.figures }
            }
            for name in names { figures[name, default: []].append(set[name] ?? PhaseFigures()) }
            let plain = set["plain"]?.rate ?? 0, items = set["items"]?.rate ?? 0, loaded = set["campaigns"]?.rate ?? 0
            print(String(format: "set %d  plain %6.0f /s (%.2fx baseline)  20 items %6.0f /s (%.3f of plain)  20 items under 10 campaigns %6.0f /s (%.3f of plain)",
                         pair + 1, plain, plain / baseline, items, items / plain, loaded, loaded / plain))
            print("       per purchase (plain / 20 items / under campaigns): " + PhaseFigures.columns.map { column in
                column.name + " " + names.map { String(format: column.format, column.value(set[$0] ?? PhaseFigures())) }.joined(separator: " / ")
            }.joined(separator: ", "))
        }
        func mean(_ name: String, _ value: (PhaseFigures) -> Double) -> Double {
            let all = figures[name] ?? []
            return all.map(value).reduce(0, +) / Double(max(1, all.count))
        }
        func ratios(_ name: String, over base: String = "plain") -> [Double] {
            zip(figures[name] ?? [], figures[base] ?? []).map { $0.rate / $1.rate }
        }
        func meanRatio(_ name: String, over base: String = "plain") -> Double {
            ratios(name, over: base).reduce(0, +) / Double(pairs)
        }
        /// The median set and the middle half of the sets: a set can swing by ±0.1 on a shared
        /// VM, and one such set moves a mean of a dozen by 0.01.
        func spread(_ name: String) -> String {
            let sorted = ratios(name).sorted()
            func at(_ fraction: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count - 1) + 0.5))] }
            return String(format: "%.3f (middle half %.3f–%.3f)", at(0.5), at(0.25), at(0.75))
        }
        /// The mean set, with half the width of its 95% confidence interval (Student's t) once
        /// there are two sets: whether a goal lies inside the run's noise.
        func meanWithMargin(_ name: String, over base: String = "plain") -> String {
            let values = ratios(name, over: base), n = values.count, mean = meanRatio(name, over: base)
            guard n > 1 else { return String(format: "%.3f", mean) }
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
            let t: [Double] = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13]
            let margin = (n - 1 <= t.count ? t[n - 2] : n - 1 < 30 ? 2.08 : 1.98) * (variance / Double(n)).squareRoot()
            return String(format: "%.3f ± %.3f", mean, margin)
        }
        print("mean, of a plain purchase's rate (± the 95% interval of the mean set): 20 items \(meanWithMargin("items")), "
              + "20 items under 10 campaigns \(meanWithMargin("campaigns"))")
        print("median set, of a plain purchase's rate: 20 items \(spread("items")), 20 items under 10 campaigns \(spread("campaigns"))")
        // The campaigns' own cost: the same receipt with and without them.
        print("mean, 20 items under 10 campaigns of 20 items without them: \(meanWithMargin("campaigns", over: "items"))")
        print("mean per purchase (plain / 20 items / under campaigns): " + PhaseFigures.columns.map { column in
            column.name + " " + names.map { name in String(format: column.format, mean(name) { column.value($0) }) }.joined(separator: " / ")
        }.joined(separator: ", "))
        print(String(format: "writer CPU, plain's over this phase's: 20 items %.3f, under campaigns %.3f",
                     mean("plain", \.writerMicroseconds) / mean("items", \.writerMicroseconds),
                     mean("plain", \.writerMicroseconds) / mean("campaigns", \.writerMicroseconds)))
        return 0
    }

    /// What one phase measured: the acknowledged rate, and per purchase the node's CPU time
    /// (user and system), its writer thread's and its event loop's, the bytes it wrote to disk,
    /// and the group commits' mean size and duration (from `/metrics`).
    struct PhaseFigures: Sendable {
        var rate = 0.0
        var cpuMicroseconds = 0.0
        var writerMicroseconds = 0.0
        var loopMicroseconds = 0.0
        var diskKilobytes = 0.0
        var writesPerCommit = 0.0
        var commitMilliseconds = 0.0

        static let columns: [(name: String, format: String, value: @Sendable (PhaseFigures) -> Double)] = [
            ("node CPU µs", "%.0f", \.cpuMicroseconds), ("writer µs", "%.1f", \.writerMicroseconds), ("event loop µs", "%.1f", \.loopMicroseconds),
            ("disk KB", "%.1f", \.diskKilobytes), ("writes per commit", "%.1f", \.writesPerCommit), ("commit ms", "%.2f", \.commitMilliseconds),
        ]
    }

    /// One phase's fresh node, set up: with `campaigns`, 10 campaigns are published first
    /// (multipliers on categories, a whole-receipt multiplier, bonuses), with `green` a category
    /// is marked green, and with `items` each purchase carries 20 items. It sums what its bursts
    /// of purchases cost.
    final class PhaseNode {
        private let node: BenchNode
        private let clients: Int
        private let items: Bool
        private var used = [Double](repeating: 0, count: 7)
        private var purchases = 0, seconds = 0.0, bursts = 0

        init(_ directory: String, arguments: CommandLineArguments, clients: Int, items: Bool, campaigns: Bool, green: Bool) throws {
            // The previous phase's dirty pages are written back first, not during this phase's fsyncs.
            sync()
            node = try BenchNode(dataDirectory: directory, arguments: ["--role", "hq"], binary: arguments.value(Bench.nodeBinary))
            self.clients = clients
            self.items = items
            if campaigns {
                do {
                    let http = HTTPClient(address: node.httpAddress)
                    for index in 0..<10 {
                        _ = try http.send("PUT", "/v1/campaigns/bench-\(index)", body: Array(campaignBody(index).utf8))
                    }
                    if green { _ = try http.send("PUT", "/v1/categories/cat-3/green", body: nil) }
                } catch {
                    node.stop()
                    throw error
                }
                // The node sweeps new campaigns for late credits once (`LateCampaignSweeper`): let
                // that one-off pass finish, so the phase measures purchases under campaigns in force.
                Thread.sleep(forTimeInterval: 1.5)
            }
        }

        /// Sends `count` purchases at `clients` at once, adding their time and cost to the phase's.
        func burst(_ count: Int) throws {
            let before = sample()
            let rate = try Bench.purchaseRate(address: node.httpAddress, clients: clients, requests: count, tag: "b\(bursts)") { [items] in
                purchaseBody(receipt: $0, account: $1, items: items)
            }
            used = zip(used, zip(sample(), before)).map { $0 + $1.0 - $1.1 }
            purchases += count
            seconds += Double(count) / rate
            bursts += 1
        }

        /// The rate over all its bursts, and what a purchase cost.
        var figures: PhaseFigures {
            let perPurchase = 1e6 / Double(max(1, purchases)), commits = max(1, used[5])
            return PhaseFigures(rate: Double(purchases) / seconds, cpuMicroseconds: used[0] * perPurchase, writerMicroseconds: used[1] * perPurchase,
                                loopMicroseconds: used[2] * perPurchase, diskKilobytes: used[3] / 1024 / Double(max(1, purchases)),
                                writesPerCommit: used[4] / commits, commitMilliseconds: used[6] * 1000 / commits)
        }

        func stop() { node.stop() }

        private func sample() -> [Double] {
            [node.cpuSeconds(), node.threadCPUSeconds(named: "pm-writer"), node.threadCPUSeconds(named: "pm-http-loop"), Double(node.diskBytesWritten()),
             node.metricValue("pointmesh_commit_batch_size_sum"), node.metricValue("pointmesh_commit_batch_size_count"),
             node.metricValue("pointmesh_commit_duration_seconds_sum")]
        }
    }
}
