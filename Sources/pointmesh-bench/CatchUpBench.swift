import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import PointMeshTLS

/// Entries per second a fresh node receives and applies from one peer over loopback, against
/// raw SQLite batched inserts of the same rows measured in the same run.
enum CatchUpBench: Command {
    static let name = "catch-up"
    static let summary = "a fresh node catching up on N entries, against batched raw SQLite inserts"
    static let entries = Option("entries", .value("N"), "entries to catch up on (default 1000000)")
    static let certificates = Option("certificates", "both nodes on node certificates alone: gossip over mutual TLS, and the fresh node checks the source's seals (made when the source starts: every 256th entry and the last) before it applies what they cover")
    static let options: [Option] = [entries, certificates, Bench.nodeBinary, Bench.directory]
    static let description = """
        N rows inserted into a minimal SQLite table in batches of 1,000 (the baseline); then N
        entries, written straight into a node's ledger, served by that node to a fresh node with one
        seed over loopback; reports both rates, their ratio, bytes on the wire per entry and the fresh
        node's WAL peak.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let count = Int(try arguments.integer(Self.entries) ?? 1_000_000)
        guard count > 0 else { throw UsageError(message: "--entries must be positive") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let baseline = try SQLiteBaseline.batchedInserts(path: scratch + "/baseline.sqlite", rows: count, batch: 1_000)
        print(String(format: "baseline  raw SQLite, minimal table, 1,000 rows per transaction: %9.0f rows/s", baseline))

        // The source node's ledger, written straight into SQLite (not timed).
        let source = scratch + "/source"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        let origin = NodeID(unchecked: "source")
        do {
            // Closed at the end of this scope, before the source node opens the same file.
            let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: source))
            defer { database.connection.close() }
            var index = 0
            while index < count {
                let end = min(count, index + 1_000)
                try database.connection.transaction {
                    for sequence in (index + 1)...end { try database.append(entry(origin: origin, sequence: Int64(sequence))) }
                }
                index = end
            }
        }

        var credentials: (String) throws -> [String] = { _ in [] }
        if arguments.has(Self.certificates) {
            let authority = try ChainCertificates.makeAuthority(name: "bench", days: 2)
            try authority.certificatePEM.write(toFile: scratch + "/ca.pem", atomically: true, encoding: .utf8)
            credentials = { node in
                let issued = try ChainCertificates.issue(nodeID: node, role: "store", days: 2, authority: authority)
                try issued.certificatePEM.write(toFile: "\(scratch)/\(node).pem", atomically: true, encoding: .utf8)
                try issued.keyPEM.write(toFile: "\(scratch)/\(node).key", atomically: true, encoding: .utf8)
                return ["--tls-cert", "\(scratch)/\(node).pem", "--tls-key", "\(scratch)/\(node).key", "--tls-ca", scratch + "/ca.pem"]
            }
        }

        let sourceNode = try BenchNode(dataDirectory: source, arguments: ["--node-id", "source"] + credentials("source"), binary: arguments.value(Bench.nodeBinary))
        defer { sourceNode.stop() }
        let catchUpStart = DispatchTime.now()
        let wal = WALPeak(databasePath: LedgerStore.databasePath(in: scratch + "/fresh"))
        let fresh = try BenchNode(dataDirectory: scratch + "/fresh",
                                  arguments: ["--node-id", "fresh", "--seed", sourceNode.gossipAddress.description, "--gossip-interval-ms", "200"] + credentials("fresh"),
                                  binary: arguments.value(Bench.nodeBinary))
        defer { fresh.stop() }
        var lastReport = DispatchTime.now()
        while fresh.entries() < count {
            usleep(100_000)
            if Bench.seconds(since: lastReport) >= 5 {
                lastReport = DispatchTime.now()
                print("  … \(fresh.entries()) of \(count)")
            }
        }
        let rate = Double(count) / Bench.seconds(since: catchUpStart)
        let walPeak = wal.stop()
        let bytes = Double(fresh.metric("pointmesh_gossip_bytes_received_total") + fresh.metric("pointmesh_gossip_bytes_sent_total"))
        print(String(format: "catch-up  fresh node from one peer over loopback:                %9.0f entries/s   ratio to baseline %.2fx", rate, rate / baseline))
        print(String(format: "WAL       fresh node's peak %.1f MiB", Double(walPeak) / 1_048_576))
        print(String(format: "wire      %.1f bytes per replicated entry (both directions, frames and MACs included)", bytes / Double(count)))
        print("fresh node peak RSS: \(fresh.peakRSSKilobytes() / 1024) MiB, source node peak RSS: \(sourceNode.peakRSSKilobytes() / 1024) MiB")
        return 0
    }

    /// An earning entry as a node would write it.
    static func entry(origin: NodeID, sequence: Int64) -> LedgerEntry {
        let request = Earn.Request(receipt: ReceiptID(unchecked: "R-\(sequence)"), account: AccountID(unchecked: "A-\(sequence % 10_000)"), amount: Fen(12_345))
        let write = PreparedWrite(Earn.self, request)
        return LedgerEntry(
            id: EntryID(origin: origin, sequence: sequence), timestamp: HLCTimestamp(wallMilliseconds: 1_700_000_000_000 + sequence, logical: 0),
            code: Earn.code, idempotencyKey: write.key, requestHash: write.hash,
            moves: Earn.moves(customer: request.account, earned: Points(123), repaid: .zero, store: origin),
            details: Earn.details(receipt: request.receipt, amount: request.amount, items: [], balanceAfter: Points(123)))
    }
}
