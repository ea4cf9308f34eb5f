import Foundation
import PointMeshCommandLine
import PointMeshHTTP

/// Gossip bytes per second per node in a converged cluster with no writes.
enum IdleBench: Command {
    static let name = "idle"
    static let summary = "gossip bytes per second per node in a converged idle cluster"
    static let nodes = Option("nodes", .value("N"), "cluster size (default 5)")
    static let seconds = Option("seconds", .value("S"), "measuring window (default 10)")
    static let warmUpSeconds = Option("warm-up", .value("S"), "seconds after every node knew every other before measuring (default 60)")
    static let options: [Option] = [nodes, seconds, warmUpSeconds, Bench.nodeBinary, Bench.directory]
    static let description = """
        a converged N-node cluster on loopback: gossip bytes per second per node, how long until
        every node knew every other, and the nodes' peak memory.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let size = Int(try arguments.integer(Self.nodes) ?? 5)
        let seconds = Double(try arguments.integer(Self.seconds) ?? 10)
        let warmUp = Double(try arguments.integer(Self.warmUpSeconds) ?? 60)
        guard size >= 2, seconds > 0, warmUp >= 0 else { throw UsageError(message: "--nodes must be ≥ 2, --seconds positive and --warm-up not negative") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var nodes = [try BenchNode(dataDirectory: scratch + "/n0", binary: arguments.value(Bench.nodeBinary))]
        defer { nodes.forEach { $0.stop() } }
        for index in 1..<size {
            nodes.append(try BenchNode(dataDirectory: scratch + "/n\(index)", arguments: ["--seed", nodes[0].gossipAddress.description],
                                        binary: arguments.value(Bench.nodeBinary)))
        }
        // Converge: every node knows every other as alive, and the ledgers (empty) agree.
        let started = Date()
        while nodes.contains(where: { $0.metric("pointmesh_peers{state=\"alive\"}") < size - 1 }) {
            guard Date().timeIntervalSince(started) < 300 else { throw UsageError(message: "the \(size) nodes did not all learn each other within 300 s") }
            usleep(500_000)
        }
        let joined = Date().timeIntervalSince(started)
        // Every pair that gossips opens its kept connection once; with many nodes that takes
        // a while (a node dials two peers of N−1 a second), and a pair silent for longer than the
        // kept connections' idle time (30 s) opens a new one, so some opening goes on for good.
        usleep(UInt32(warmUp * 1_000_000))
        func opened() -> Int64 { nodes.reduce(0) { $0 + $1.metric("pointmesh_gossip_connections_opened_total") } }
        let openedBefore = opened()
        func total() -> Int64 { nodes.reduce(0) { $0 + $1.metric("pointmesh_gossip_bytes_sent_total") } }
        let before = total()
        usleep(UInt32(seconds * 1_000_000))
        let sent = Double(total() - before)
        let reopened = Double(opened() - openedBefore)
        let peaks = nodes.map { $0.peakRSSKilobytes() }.sorted()
        print("idle: \(size) converged nodes on loopback, gossip every 1 s with fanout 2, \(Int(seconds)) s window")
        print(String(format: "  every node knew every other %.1f s after the first started; measured from %.0f s on", joined, joined + warmUp))
        print(String(format: "  %.2f connections opened per second per node (sessions: 2 per second per node)", reopened / Double(size) / seconds))
        print(String(format: "  %.0f bytes/s per node sent (each byte is also received once: %.0f bytes/s per node in + out)",
                     sent / Double(size) / seconds, 2 * sent / Double(size) / seconds))
        print("  node peak RSS: median \(peaks[peaks.count / 2] / 1024) MiB, max \((peaks.last ?? 0) / 1024) MiB")
        return 0
    }
}
