import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import PointMeshTLS
import Synchronization

/// `pointmesh-bench writes`: acknowledged purchases over HTTP at each client count, against
/// the disk's commit rate.
enum WritesBench: Command {
    static let name = "writes"
    static let summary = "acknowledged purchases per second at 1 and 32 clients, against raw SQLite"
    static let requests = Option("requests", .value("N"), "writes per phase (default 2000)")
    static let clients = Option("clients", .value("LIST"), "comma-separated client counts (default 1,32)")
    static let https = Option("https", "run each phase over HTTP and then over HTTPS (a certificate made for the run; keep-alive, so one handshake per client), and print HTTPS's ratio to HTTP")
    static let options: [Option] = [requests, clients, https, Bench.nodeBinary, Bench.directory]
    static let description = """
        starts `pointmesh serve` on a scratch directory and free ports, then
          1. baseline: N rows inserted into a minimal SQLite table (WAL, synchronous=FULL, one
             transaction per row: the disk's commit rate, which no change of ours moves);
          2. for each client count in LIST, on a fresh node: N purchases over that many keep-alive
             connections, each counted when its 201 arrives (with --https, then the same over
             HTTPS on another fresh node).
        Prints rates, each rate's ratio to the baseline, and the node's peak RSS.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer(Self.requests) ?? 2000)
        guard requests > 0 else { throw UsageError(message: "--requests must be positive") }
        let clientCounts = try (arguments.value(Self.clients) ?? "1,32").split(separator: ",").map { text throws(UsageError) in
            guard let count = Int(text), count > 0 else { throw UsageError(message: "--clients must be positive integers, got '\(text)'") }
            return count
        }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        print("pointmesh-bench writes: \(requests) writes per phase, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let baseline = try SQLiteBaseline.perRowCommits(path: scratch + "/baseline.sqlite", rows: requests)
        print(String(format: "baseline  raw SQLite, minimal table, 1 transaction per row: %8.0f rows/s", baseline))

        var peakRSS = 0
        let secure = try arguments.has(Self.https) ? Self.httpsFiles(in: scratch) : nil
        var phases: [(scheme: String, tls: (arguments: [String], client: TLSContext)?)] = [("http", nil)]
        if let secure { phases.append(("https", secure)) }
        for clients in clientCounts {
            var plainRate: Double?
            for (scheme, tls) in phases {
                // A fresh node per phase, so each starts from an empty ledger as the baseline did.
                let directory = scratch + "/node-\(scheme)-\(clients)"
                let node = try BenchNode(dataDirectory: directory, arguments: tls?.arguments ?? [], binary: arguments.value(Bench.nodeBinary), tls: tls?.client)
                let wal = WALPeak(databasePath: LedgerStore.databasePath(in: directory))
                let rate = try Bench.purchaseRate(address: node.httpAddress, clients: clients, requests: requests, tag: "\(scheme)\(clients)", tls: tls?.client)
                peakRSS = max(peakRSS, node.peakRSSKilobytes())
                let groups = node.metric("pointmesh_commit_batches_total"), written = node.metric("pointmesh_committed_writes_total")
                let disk = node.diskBytesWritten(), cpu = node.cpuSeconds()
                node.stop()
                let walPeak = wal.stop()
                print(scheme.padding(toLength: 10, withPad: " ", startingAt: 0)
                      + String(format: "%3d client(s), acknowledged purchases: %8.0f /s   ratio to baseline %.2fx", clients, rate, rate / baseline)
                      + (scheme == "https" ? String(format: "   %.2fx HTTP's", rate / (plainRate ?? rate)) : ""))
                print(String(format: "            WAL peak %.1f MiB, %.1f writes per commit, %.0f bytes written to disk and %.0f µs of node CPU per purchase",
                             Double(walPeak) / 1_048_576, Double(written) / Double(max(groups, 1)), Double(disk) / Double(requests),
                             cpu * 1e6 / Double(requests)))
                if scheme == "http" { plainRate = rate }
            }
        }
        print("node peak RSS: \(peakRSS / 1024) MiB")
        return 0
    }

    /// A certificate for 127.0.0.1 from an authority made for the run: the node's arguments,
    /// and the client context that trusts it.
    static func httpsFiles(in scratch: String) throws -> (arguments: [String], client: TLSContext) {
        let authority = try ChainCertificates.makeAuthority(name: "bench", days: 2)
        let issued = try ChainCertificates.issue(nodeID: "bench", role: "store", days: 2, hosts: ["127.0.0.1"], authority: authority)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        for (name, text) in [("ca.pem", authority.certificatePEM), ("node.pem", issued.certificatePEM), ("node.key", issued.keyPEM)] {
            try text.write(toFile: scratch + "/" + name, atomically: true, encoding: .utf8)
        }
        return (["--http-tls-cert", scratch + "/node.pem", "--http-tls-key", scratch + "/node.key"], try TLSContext.httpsClient(authority: scratch + "/ca.pem"))
    }
}
