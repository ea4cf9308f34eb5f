import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshSimulation

/// Rounds until one new entry reaches every node, in the simulation (no faults, full
/// membership, fanout 2), and gossip bytes per node per round.
enum DisseminationBench: Command {
    static let name = "dissemination"
    static let summary = "rounds until one new entry reaches every simulated node, and gossip bytes"
    static let nodes = Option("nodes", .value("LIST"), "cluster sizes (default 10,100,1000)")
    static let trials = Option("trials", .value("N"), "runs per size, median reported (default 9)")
    static let options: [Option] = [nodes, trials]
    static let description = """
        in the deterministic simulation (no faults, full membership), rounds until one new entry
        reaches every node, and gossip bytes per node per round.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let sizes = try (arguments.value(Self.nodes) ?? "10,100,1000").split(separator: ",").map { text throws(UsageError) in
            guard let size = Int(text), size >= 2 else { throw UsageError(message: "--nodes must be integers ≥ 2") }
            return size
        }
        let trials = Int(try arguments.integer(Self.trials) ?? 9)
        print("dissemination: push-pull, fanout 2, 1 s rounds, \(trials) trials per size (median)")
        print("     N   rounds (median)  goal 2·log2(N)   rounds (max)   bytes/node/round")
        for size in sizes {
            var rounds: [Int] = []
            var bytesPerNodePerRound: [Double] = []
            for trial in 0..<trials {
                let (taken, bytes) = try measure(nodes: size, seed: UInt64(trial * 7_919 + size))
                rounds.append(taken)
                bytesPerNodePerRound.append(bytes)
            }
            rounds.sort()
            bytesPerNodePerRound.sort()
            let goal = 2 * log2(Double(size))
            print(String(format: "%6d   %15d  %14.1f   %12d   %16.0f", size, rounds[rounds.count / 2], goal, rounds.last ?? 0,
                         bytesPerNodePerRound[bytesPerNodePerRound.count / 2]))
        }
        return 0
    }

    /// Rounds for one entry written at node 0 to reach all nodes, and bytes per node per round.
    static func measure(nodes: Int, seed: UInt64) throws -> (rounds: Int, bytesPerNodePerRound: Double) {
        var cluster = SimulatedCluster(count: nodes, seed: seed, faults: .none, fullMembership: true)
        cluster.faulty = false
        // Let the first rounds (empty ledgers, every pair in sync) pass.
        cluster.run(until: 3_000)
        let start = cluster.now
        let bytesBefore = cluster.bytesSent
        _ = try cluster.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R"), account: AccountID(unchecked: "a"), amount: Fen(100))), at: 0)
        var elapsed: Int64 = 0
        while !cluster.converged && elapsed < 100_000 {
            elapsed += 100
            cluster.run(until: start + elapsed)
        }
        let rounds = Int((elapsed + cluster.gossipIntervalMilliseconds - 1) / cluster.gossipIntervalMilliseconds)
        let bytes = Double(cluster.bytesSent - bytesBefore) / Double(nodes) / Double(max(rounds, 1))
        return (rounds, bytes)
    }
}
