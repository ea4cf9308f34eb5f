import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshNode
import PointMeshStore
import Synchronization

/// `pointmesh-bench writer`: the single writer's CPU time per purchase, the quantity the
/// acknowledged rate under load follows (docs/benchmarks.md, "Campaigns"), measured without
/// clients, HTTP or a second process competing for the two cores. Three stores in this
/// process, one per phase (plain purchases, 20 items, 20 items under 10 campaigns with a green
/// category, as `bench campaigns` sends them), each fed groups of concurrent writes through its
/// real group-commit writer (fsync included), in rounds that alternate the phases' order. The
/// figure is the CPU time of each store's writer thread (`pm-writer`), per purchase; the
/// baseline is raw SQLite inserting a minimal row in transactions of the same size, measured
/// as the CPU time of the thread doing it, in the same run.
enum WriterBench: Command {
    static let name = "writer"
    static let summary = "the group-commit writer's CPU per purchase, no HTTP"
    static let requests = Option("requests", .value("N"), "purchases per phase and round (default 3000)")
    static let pairs = Option("pairs", .value("N"), "rounds (default 10)")
    static let clients = Option("clients", .value("N"), "writes per group (default 15)")
    static let options: [Option] = [requests, pairs, clients, Bench.directory]
    static let description = """
        the campaigns benchmark's three phases in one process, each on its own store, fed groups
        of concurrent writes straight to its group-commit writer (no HTTP, no clients); the writer
        thread's CPU time per purchase in each, in rounds of alternating order, and the CPU time raw
        SQLite takes per minimal row in transactions of the same size.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer(Self.requests) ?? 3_000)
        let rounds = Int(try arguments.integer(Self.pairs) ?? 10)
        let group = Int(try arguments.integer(Self.clients) ?? 15)
        guard requests > 0, rounds > 0, group > 0 else { throw UsageError(message: "--requests, --pairs and --clients must be positive") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        print("pointmesh-bench writer: \(requests) purchases per phase and round, \(rounds) rounds, groups of \(group) writes")
        let baselineStart = threadCPUSeconds()
        _ = try SQLiteBaseline.batchedInserts(path: scratch + "/baseline.sqlite", rows: requests * 3, batch: group)
        let baseline = (threadCPUSeconds() - baselineStart) * 1e6 / Double(requests * 3)
        print(String(format: "baseline  raw SQLite, minimal row, transactions of %d: %.1f µs of CPU per row", group, baseline))

        let phases = ["plain", "items", "campaigns"]
        var stores: [String: (store: LedgerStore, writer: Int)] = [:]
        defer { for (store, _) in stores.values { store.close() } }
        for name in phases {
            let opened = try openStore(directory: scratch + "/" + name, name: name)
            stores[name] = opened
            if name == "campaigns" { try publishCampaigns(opened.store) }
        }
        var micros: [String: [Double]] = [:]
        for round in 0..<rounds {
            for name in round % 2 == 0 ? phases : phases.reversed() {
                guard let (store, writer) = stores[name] else { continue }
                let before = threadCPUSeconds(writer)
                try purchases(store, count: requests, group: group, items: name != "plain", tag: "\(name)-\(round)")
                micros[name, default: []].append((threadCPUSeconds(writer) - before) * 1e6 / Double(requests))
            }
            print("round \(round + 1)  writer µs per purchase: " + phases.map { String(format: "%@ %.1f", $0, micros[$0]?.last ?? 0) }.joined(separator: ", "))
        }
        func mean(_ name: String) -> Double { (micros[name] ?? []).reduce(0, +) / Double(rounds) }
        print(String(format: "mean writer µs per purchase: plain %.1f (%.2fx baseline), 20 items %.1f, 20 items under 10 campaigns %.1f",
                     mean("plain"), mean("plain") / baseline, mean("items"), mean("campaigns")))
        print(String(format: "writer CPU, plain's over this phase's: 20 items %.3f, under campaigns %.3f",
                     mean("plain") / mean("items"), mean("plain") / mean("campaigns")))
        return 0
    }

    /// A store of node `bench-<name>` in `directory`, and its writer thread's id.
    static func openStore(directory: String, name: String) throws -> (store: LedgerStore, writer: Int) {
        let before = Set(ThreadTimes.threads(named: "pm-writer"))
        let store = try LedgerStore(directory: directory, nodeID: NodeID(unchecked: "bench-\(name)"),
                                    newNodeID: { NodeID(unchecked: "bench-\(name)") }, clock: .system())
        guard let writer = ThreadTimes.threads(named: "pm-writer").first(where: { !before.contains($0) }) else {
            store.close()
            throw UsageError(message: "the store's writer thread was not found")
        }
        return (store, writer)
    }

    /// The 10 campaigns and the green category of `bench campaigns`.
    private static func publishCampaigns(_ store: LedgerStore) throws {
        let context = RequestContext(node: store.nodeID, now: Int64(Date().timeIntervalSince1970 * 1000))
        for index in 0..<10 {
            _ = try store.write(try PreparedWrite.parse(CampaignDefinition.self, body: Array(CampaignBench.campaignBody(index).utf8),
                                                        path: ["campaign_id": "bench-\(index)"]), context: context)
        }
        _ = try store.write(try PreparedWrite.parse(GreenCategory.self, body: [], path: ["category": "cat-3"]), context: context)
    }

    /// `count` purchases in groups of `group` concurrent writes, read from the bodies
    /// `bench campaigns` sends, as the event loop reads them.
    static func purchases(_ store: LedgerStore, count: Int, group: Int, items: Bool, tag: String) throws {
        let failures = Mutex(0)
        var next = 0
        while next < count {
            let done = DispatchGroup()
            for index in next..<min(count, next + group) {
                let body = CampaignBench.purchaseBody(receipt: "\(tag)-\(index)", account: "A-\(index % 1000)", items: items)
                let write = try PreparedWrite.parse(Earn.self, body: Array(body.utf8))
                done.enter()
                store.write(write, context: RequestContext(node: store.nodeID, now: Int64(Date().timeIntervalSince1970 * 1000))) { result in
                    if case .failure = result { failures.withLock { $0 += 1 } }
                    done.leave()
                }
            }
            done.wait()
            next += group
        }
        if failures.withLock({ $0 }) > 0 { throw UsageError(message: "\(failures.withLock { $0 }) purchases failed") }
    }

    /// The time thread `thread` of this process (nil: the calling thread) has run on a CPU.
    static func threadCPUSeconds(_ thread: Int? = nil) -> Double {
        ThreadTimes.runSeconds(task: thread.map { "/proc/self/task/\($0)" } ?? "/proc/thread-self") ?? 0
    }
}
