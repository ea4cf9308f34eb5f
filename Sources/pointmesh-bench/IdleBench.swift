import Foundation
import PointMeshCommandLine
import PointMeshHTTP

/// Gossip bytes per second per node in a converged cluster with no writes.
enum IdleBench: Command {
    static let name = "idle"
    static let summary = "gossip bytes per second per node in a converged idle cluster"
    static let nodes = Option("nodes", .value("N"), "cluster size (default 5)")
    static let seconds = Option("seconds", .value("S"), "measuring window (default 10)")
    static let options: [Option] = [nodes, seconds, Bench.nodeBinary, Bench.directory]
    static let description = """
        a converged N-node cluster on loopback, gossip bytes per second per node.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let size = Int(try arguments.integer(Self.nodes) ?? 5)
        let seconds = Double(try arguments.integer(Self.seconds) ?? 10)
        guard size >= 2, seconds > 0 else { throw UsageError(message: "--nodes must be ≥ 2 and --seconds positive") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var nodes = [try BenchNode(dataDirectory: scratch + "/n0", binary: arguments.value(Bench.nodeBinary))]
        defer { nodes.forEach { $0.stop() } }
        for index in 1..<size {
            nodes.append(try BenchNode(dataDirectory: scratch + "/n\(index)", arguments: ["--seed", nodes[0].gossipAddress.description],
                                        binary: arguments.value(Bench.nodeBinary)))
        }
        // Converge: every node knows every other, and the ledgers (empty) agree.
        usleep(5_000_000)
        func total() -> Int64 { nodes.reduce(0) { $0 + $1.metric("pointmesh_gossip_bytes_sent_total") } }
        let before = total()
        usleep(UInt32(seconds * 1_000_000))
        let sent = Double(total() - before)
        print("idle: \(size) converged nodes on loopback, gossip every 1 s with fanout 2, \(Int(seconds)) s window")
        print(String(format: "  %.0f bytes/s per node sent (each byte is also received once: %.0f bytes/s per node in + out)",
                     sent / Double(size) / seconds, 2 * sent / Double(size) / seconds))
        return 0
    }
}
