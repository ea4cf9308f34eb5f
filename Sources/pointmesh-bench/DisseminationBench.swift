import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshReplication
import PointMeshSimulation

/// In the simulation (full membership, fanout 2, 1 s rounds, 1% of messages lost): a settled
/// chain's gossip per node per second; rounds until one new entry reaches every node, and the
/// bytes while it spreads; rounds and bytes until a retirement reaches every node.
enum DisseminationBench: Command {
    static let name = "dissemination"
    static let summary = "idle gossip, and how fast an entry and a retirement reach every simulated node"
    static let nodes = Option("nodes", .value("LIST"), "cluster sizes (default 10,100,1000)")
    static let trials = Option("trials", .value("N"), "runs per size (default 9; the p99 needs 100)")
    static let loss = Option("loss", .value("FRACTION"), "share of messages lost (default 0.01)")
    static let protocolVersion = Option("protocol", .value("N"), "the highest protocol version the nodes speak (default this release's; 5 for release 0.8's gossip)")
    static let options: [Option] = [nodes, trials, loss, protocolVersion]
    static let description = """
        in the deterministic simulation (full membership, fanout 2, 1 s rounds, messages lost at
        random): gossip bytes per node per second of a settled chain; rounds until one new entry
        reaches every node (median, p99, max, against 2·log2 N) and bytes per node per round
        meanwhile; rounds and bytes per node until a retirement reaches every node's membership.
        Bytes are frames as on the wire: payload, header and MAC; the connections a node opens
        (a TCP connect and a TLS handshake each on a real node, not in the bytes) are counted apart.
        """

    struct Trial {
        var idleBytesPerNodePerSecond: Double
        var idleConnectionsPerNodePerSecond: Double
        var rounds: Int
        var spreadBytesPerNodePerRound: Double
        var retirementRounds: Int
        var retirementBytesPerNode: Double
    }

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let sizes = try (arguments.value(Self.nodes) ?? "10,100,1000").split(separator: ",").map { text throws(UsageError) in
            guard let size = Int(text), size >= 2 else { throw UsageError(message: "--nodes must be integers ≥ 2") }
            return size
        }
        let trials = Int(try arguments.integer(Self.trials) ?? 9)
        guard trials >= 1 else { throw UsageError(message: "--trials must be at least 1") }
        let lossText = arguments.value(Self.loss) ?? "0.01"
        guard let loss = Double(lossText), loss >= 0, loss < 0.5 else { throw UsageError(message: "--loss must be a fraction below 0.5") }
        let highest = try arguments.integer(Self.protocolVersion) ?? Int64(ProtocolVersions.supported.highest)
        guard highest >= Int64(ProtocolVersions.introducing), highest <= Int64(ProtocolVersions.supported.highest) else {
            throw UsageError(message: "--protocol must be from \(ProtocolVersions.introducing) to \(ProtocolVersions.supported.highest)")
        }
        let versions = ProtocolVersions(ProtocolVersions.supported.lowest, UInt8(highest))
        print("dissemination: push-pull, fanout 2, 1 s rounds, \(lossText) of messages lost, \(trials) trials per size, protocol \(highest)")
        print("     N   idle B/s/node   connections opened/s/node   entry rounds (median / p99 / max)   goal 2·log2 N   B/node/round spreading   retirement rounds (median / max), B/node")
        for size in sizes {
            var results: [Trial] = []
            for trial in 0..<trials {
                results.append(try measure(nodes: size, loss: loss, versions: versions, seed: UInt64(trial * 7_919 + size)))
                FileHandle.standardError.write(Data("\r  N=\(size): trial \(trial + 1) of \(trials)".utf8))
            }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            let rounds = results.map(\.rounds).sorted(), retirement = results.map(\.retirementRounds).sorted()
            print(String(format: "%6d   %13.0f   %25.3f   %13d / %3d / %3d   %13.1f   %22.0f   %13d / %3d, %.0f", size,
                         median(results.map(\.idleBytesPerNodePerSecond)), median(results.map(\.idleConnectionsPerNodePerSecond)), rounds[rounds.count / 2], percentile99(rounds), rounds.last ?? 0,
                         2 * log2(Double(size)), median(results.map(\.spreadBytesPerNodePerRound)),
                         retirement[retirement.count / 2], retirement.last ?? 0, median(results.map(\.retirementBytesPerNode))))
        }
        return 0
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// The 99th percentile by the nearest rank (the maximum below 100 trials).
    static func percentile99(_ sorted: [Int]) -> Int { sorted[min(sorted.count - 1, Int((0.99 * Double(sorted.count)).rounded(.up)) - 1)] }

    static func measure(nodes: Int, loss: Double, versions: ProtocolVersions, seed: UInt64) throws -> Trial {
        var faults = FaultSettings.none
        faults.messageLoss = loss
        var cluster = SimulatedCluster(count: nodes, seed: seed, faults: faults, fullMembership: true)
        for index in 0..<nodes { cluster.configure(node: index, exchanges: GossipExchangeName.standard, versions: versions) }
        let interval = cluster.gossipIntervalMilliseconds
        // The first rounds: empty ledgers, every pair in sync.
        cluster.run(until: 3_000)
        // Long enough for kept connections to settle (partners are found, and the first ones
        // dropped after 30 s unused).
        cluster.run(until: 60_000)
        let settled = cluster.bytesSent, opened = cluster.connectionsOpened
        cluster.run(until: 70_000)
        let idle = Double(cluster.bytesSent - settled) / Double(nodes) / 10
        let connections = Double(cluster.connectionsOpened - opened) / Double(nodes) / 10

        let (rounds, spreadBytes) = try Self.rounds(of: &cluster, until: { $0.converged }) { cluster in
            _ = try cluster.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R"), account: AccountID(unchecked: "a"), amount: Fen(100))),
                                  at: 0)
        }
        // Let the entry's last sessions end before the retirement.
        cluster.run(until: cluster.now + 3 * interval)
        let (retirementRounds, retirementBytes) = try Self.rounds(of: &cluster, until: { $0.membershipsAgree }) { cluster in
            cluster.retire(nodes - 1, at: 0)
        }
        return Trial(idleBytesPerNodePerSecond: idle, idleConnectionsPerNodePerSecond: connections, rounds: rounds, spreadBytesPerNodePerRound: spreadBytes / Double(max(rounds, 1)),
                     retirementRounds: retirementRounds, retirementBytesPerNode: retirementBytes)
    }

    /// Rounds (gossip intervals, begun) from `change` until `done`, and the bytes per node sent meanwhile.
    static func rounds(of cluster: inout SimulatedCluster<MemoryLedger>, until done: (SimulatedCluster<MemoryLedger>) -> Bool,
                       after change: (inout SimulatedCluster<MemoryLedger>) throws -> Void) throws -> (rounds: Int, bytesPerNode: Double) {
        let start = cluster.now, bytes = cluster.bytesSent
        try change(&cluster)
        var elapsed: Int64 = 0
        while !done(cluster) && elapsed < 300_000 {
            elapsed += 100
            cluster.run(until: start + elapsed)
        }
        let interval = cluster.gossipIntervalMilliseconds
        return (Int((elapsed + interval - 1) / interval), Double(cluster.bytesSent - bytes) / Double(cluster.nodes.count))
    }
}
