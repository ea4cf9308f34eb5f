import Dispatch
import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import Synchronization

/// `pointmesh bench`: the benchmarks of docs/benchmarks.md. Each compares against a baseline
/// measured in the same run.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "run a benchmark (writes, dissemination, catch-up, idle, account-read, compensation, campaigns, writer, budget)"
    static let usage = """
        Usage: pointmesh bench [writes|dissemination|catch-up|idle|account-read|compensation|campaigns|writer|budget] [options]

        writes (default): starts `pointmesh serve` on a scratch directory and free ports, then
          1. baseline: N rows inserted into a minimal SQLite table (WAL, synchronous=FULL,
             one transaction per row: the disk's commit rate, which no change of ours moves);
          2. for each client count in LIST, on a fresh node: N purchases over that many
             keep-alive connections, each counted when its 201 arrives.
          Prints rates, each rate's ratio to the baseline, and the node's peak RSS.
            --requests N    writes per phase (default 2000)
            --clients LIST  comma-separated client counts (default 1,32)
            --node-binary PATH  run the nodes from another pointmesh build, to compare two
                            builds against one baseline in one run

        dissemination: in the deterministic simulation (no faults, full membership), rounds
          until one new entry reaches every node, and gossip bytes per node per round.
            --nodes LIST    cluster sizes (default 10,100,1000)
            --trials N      runs per size, median reported (default 9)

        catch-up: N rows inserted into a minimal SQLite table in batches of 1,000 (the
          baseline); then N entries, written straight into a node's ledger, served by that node
          to a fresh node with one seed over loopback; reports both rates, their ratio, bytes on
          the wire per entry and the fresh node's WAL peak.
            --entries N     (default 1000000)

        idle: a converged N-node cluster on loopback, gossip bytes per second per node.
            --nodes N       (default 5)
            --seconds S     measuring window (default 10)

        account-read: one account with N lots and N redemptions written into a node's ledger;
          the node's answer time for the account view and a history page, per request, against
          the time raw SQLite takes to sum N rows of a minimal table.
            --lots N        (default 10000)

        compensation: N accounts with one earning each written into a node's ledger; then
          `pointmesh compensate` grants them all points in parts while a probe client keeps
          buying; the batch's time and the probe's latency during it, against the disk's commit
          time.
            --accounts N    (default 100000)

        campaigns: in interleaved sets of fresh nodes (every other set in reverse order), the
          acknowledged rate of plain purchases, of 20-item purchases, and of 20-item purchases
          under 10 campaigns in force, their ratios to the plain rate (mean with its 95%
          interval, median and middle half of the sets), and per purchase in each
          the node's CPU time, its writer thread's and its event loop's, the bytes it wrote to
          disk, the writes per group commit and a commit's duration; and the raw SQLite
          baseline. One of the 10 categories is green, so every purchase under campaigns also
          makes a green lot.
            --requests N    purchases per phase (default 5000)
            --clients N     (default 32)
            --pairs N       sets (default 3)
            --bursts N      run a set's three nodes side by side, each phase in N bursts that
                            take turns (default 1: one node after the other, one burst each)
            --without-green no green category: the campaigns alone

        writer: the same three phases in one process, each on its own store, fed groups of
          concurrent writes straight to its group-commit writer (no HTTP, no clients); the
          writer thread's CPU time per purchase in each, in rounds of alternating order, and
          the CPU time raw SQLite takes per minimal row in transactions of the same size.
            --requests N    purchases per phase and round (default 3000)
            --pairs N       rounds (default 10)
            --clients N     writes per group (default 15)

        budget: plain purchases at two stores in one process, in rounds of alternating order:
          one without budgets, one with a chain budget for the month and the issuance counters
          of N stores over 36 months; the writer's CPU time per purchase at each, and the ratio.
            --requests N    purchases per store and round (default 3000)
            --pairs N       rounds (default 6)
            --stores N      stores whose counters the chain budget sums (default 1000)

          --dir DIR       where to make the run's scratch directory (default the system temp
                          dir); the run creates pointmesh-bench-XXXXXX inside DIR and removes
                          only that
        """
    static let valued: Set<String> = ["requests", "clients", "dir", "nodes", "trials", "entries", "seconds", "node-binary", "lots", "accounts", "pairs", "stores", "bursts"]
    static let switches: Set<String> = ["without-green"]
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        switch arguments.positional.first ?? "writes" {
        case "writes": return try writes(arguments)
        case "dissemination": return try DisseminationBench.run(arguments)
        case "catch-up": return try CatchUpBench.run(arguments)
        case "idle": return try IdleBench.run(arguments)
        case "account-read": return try AccountReadBench.run(arguments)
        case "compensation": return try CompensationBench.run(arguments)
        case "campaigns": return try CampaignBench.run(arguments)
        case "writer": return try WriterBench.run(arguments)
        case "budget": return try BudgetBench.run(arguments)
        case let other: throw UsageError(message: "unknown benchmark '\(other)'")
        }
    }

    /// A new scratch directory for one run, made inside `--dir` (default the system temp
    /// directory). The run removes only this directory: never `--dir` itself, nor anything
    /// else in it, which may be a live ledger.
    static func scratchDirectory(_ arguments: CommandLineArguments) throws -> String {
        let parent = arguments.value("dir") ?? NSTemporaryDirectory()
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } else if !isDirectory.boolValue {
            throw UsageError(message: "--dir \(parent) is a file; name a directory to make the scratch directory in")
        }
        var template = Array(((parent as NSString).appendingPathComponent("pointmesh-bench-XXXXXX")).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw UsageError(message: "cannot make a scratch directory in \(parent): \(String(cString: strerror(errno)))")
        }
        let scratch = String(cString: made)
        print("scratch directory: \(scratch) (removed at the end)")
        return scratch
    }

    static func writes(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer("requests") ?? 2000)
        guard requests > 0 else { throw UsageError(message: "--requests must be positive") }
        let clientCounts = try (arguments.value("clients") ?? "1,32").split(separator: ",").map { text throws(UsageError) in
            guard let count = Int(text), count > 0 else { throw UsageError(message: "--clients must be positive integers, got '\(text)'") }
            return count
        }
        let scratch = try scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        print("pointmesh bench: \(requests) writes per phase, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let baseline = try SQLiteBaseline.perRowCommits(path: scratch + "/baseline.sqlite", rows: requests)
        print(String(format: "baseline  raw SQLite, minimal table, 1 transaction per row: %8.0f rows/s", baseline))

        var peakRSS = 0
        for clients in clientCounts {
            // A fresh node per phase, so each starts from an empty ledger as the baseline did.
            let directory = scratch + "/node-\(clients)"
            let node = try BenchNode(dataDirectory: directory, binary: arguments.value("node-binary"))
            let wal = WALPeak(databasePath: LedgerStore.databasePath(in: directory))
            let rate = try purchaseRate(address: node.httpAddress, clients: clients, requests: requests, tag: "c\(clients)")
            peakRSS = max(peakRSS, node.peakRSSKilobytes())
            let groups = node.metric("pointmesh_commit_batches_total"), written = node.metric("pointmesh_committed_writes_total")
            let disk = node.diskBytesWritten(), cpu = node.cpuSeconds()
            node.stop()
            let walPeak = wal.stop()
            print(String(format: "http      %3d client(s), acknowledged purchases: %8.0f /s   ratio to baseline %.2fx", clients, rate, rate / baseline))
            print(String(format: "            WAL peak %.1f MiB, %.1f writes per commit, %.0f bytes written to disk and %.0f µs of node CPU per purchase",
                         Double(walPeak) / 1_048_576, Double(written) / Double(max(groups, 1)), Double(disk) / Double(requests),
                         cpu * 1e6 / Double(requests)))
        }
        print("node peak RSS: \(peakRSS / 1024) MiB")
        return 0
    }

    /// Sends `requests` purchases over `clients` connections; returns acknowledged writes/s.
    /// `body(receipt, account)` makes each purchase's body (a plain one by default).
    static func purchaseRate(address: HostPort, clients: Int, requests: Int, tag: String,
                             body: @escaping @Sendable (String, String) -> String = { #"{"receipt_id":"\#($0)","account_id":"\#($1)","amount_fen":12345}"# })
        throws -> Double {
        let failures = Atomic<Int>(0)
        let group = DispatchGroup()
        let started = DispatchTime.now()
        for client in 0..<clients {
            let share = requests / clients + (client < requests % clients ? 1 : 0)
            group.enter()
            Thread {
                let http = HTTPClient(address: address)
                for index in 0..<share {
                    let purchase = body("\(tag)-\(client)-\(index)", "A-\(index % 1000)")
                    let status = (try? http.send("POST", "/v1/purchases", body: Array(purchase.utf8)))?.status
                    if status != 201 { failures.add(1, ordering: .relaxed) }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = seconds(since: started)
        let failed = failures.load(ordering: .relaxed)
        if failed > 0 { print("warning: \(failed) requests were not acknowledged with 201") }
        return Double(requests - failed) / elapsed
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

