import Foundation
import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
import Testing

/// Gossip as a chain grows (issue 28, item 3): a thousand simulated nodes settle into rounds of
/// a few hundred bytes per node, an entry and a retirement reach every node in O(log N) rounds,
/// and a retired node never comes back, whatever faults the network and nodes suffer.
@Suite struct ChainScaleSimulationTests {
    private static func earning(_ receipt: String) -> PreparedWrite {
        PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: "a"), amount: Fen(100)))
    }

    /// Runs a tenth of a second at a time until `done`, for at most `seconds`; the rounds taken.
    private static func rounds(_ cluster: inout SimulatedCluster<MemoryLedger>, within seconds: Int64,
                               until done: (SimulatedCluster<MemoryLedger>) -> Bool) -> Int64? {
        let start = cluster.now
        while cluster.now < start + seconds * 1_000 {
            cluster.run(until: cluster.now + 100)
            if done(cluster) { return (cluster.now - start + 999) / 1_000 }
        }
        return nil
    }

    @Test func aThousandNodesSettleIntoSmallRoundsAndSpreadInLogarithmicRounds() throws {
        var faults = FaultSettings.none
        faults.messageLoss = 0.01
        var cluster = SimulatedCluster(count: 1_000, seed: 28, faults: faults, fullMembership: true)
        let goal = Int64((2 * log2(1_000.0)).rounded(.up))
        // Long enough for each node to find its partners (the peers it keeps a connection to).
        cluster.run(until: 40_000)
        let settled = cluster.bytesSent, opened = cluster.connectionsOpened
        cluster.run(until: 45_000)
        let idle = Double(cluster.bytesSent - settled) / 1_000 / 5
        #expect(idle <= 300, "a settled chain of 1,000 sends \(idle) bytes per node per second")
        // Two sessions a second per node, most over kept connections: a TLS handshake each
        // otherwise.
        let connections = Double(cluster.connectionsOpened - opened) / 1_000 / 5
        #expect(connections < 0.25, "\(connections) connections opened per node per second")

        _ = try cluster.write(Self.earning("R1"), at: 0)
        let entryRounds = try #require(Self.rounds(&cluster, within: 60) { $0.converged })
        #expect(entryRounds <= goal)

        cluster.retire(999, at: 0)
        let before = cluster.bytesSent
        let retirementRounds = try #require(Self.rounds(&cluster, within: 60) { $0.membershipsAgree })
        #expect(retirementRounds <= goal)
        // Deltas: a complete list of 1,000 members is about 30 KB; the retirement's rounds cost
        // each node no more than a few settled rounds' bytes and the deltas.
        let perNode = Double(cluster.bytesSent - before) / 1_000
        #expect(perNode < 3_000, "\(perNode) bytes per node while the retirement spread")
        #expect(cluster.nodes.allSatisfy { $0.membership.isRetired(NodeID(unchecked: "n999")) && $0.membership.peers[NodeID(unchecked: "n999")] == nil })
        #expect(cluster.failures.isEmpty, "\(cluster.failures.prefix(3))")
    }

    /// Nodes join through one seed and retirements are made at different nodes while messages
    /// are lost, duplicated and reordered, links cut and nodes crash: once the faults stop, every
    /// node knows the same members, and no retired node is in any peer list.
    @Test(arguments: simulationSeeds(from: "POINTMESH_SIM_SCALE_SEEDS", default: 6))
    func retiredNodesStayRetiredUnderFaults(seed: UInt64) throws {
        var cluster = SimulatedCluster(count: 40, seed: seed)
        var random = SplitMix64(seed: seed ^ 0x28)
        var retired: Set<Int> = []
        for step in 1...60 {
            cluster.run(until: Int64(step) * 500)
            // The operator asks a node that is up (a request to one that is down fails).
            if step % 12 == 0 {
                let node = 2 + Int(random.next() % 38), at = Int(random.next() % 40)
                if cluster.retire(node, at: at) { retired.insert(node) }
            }
            if step % 5 == 0 { _ = try? cluster.write(Self.earning("R\(step)"), at: Int(random.next() % 40)) }
        }
        cluster.heal()
        let healed = Self.rounds(&cluster, within: 120) { $0.membershipsAgree && $0.converged }
        #expect(healed != nil, "seed \(seed): memberships or ledgers did not agree after the faults stopped")
        for node in retired {
            let id = cluster.nodes[node].id
            #expect(cluster.nodes.allSatisfy { $0.membership.isRetired(id) && $0.membership.peers[id] == nil }, "seed \(seed): \(id) came back")
        }
        #expect(cluster.crashes > 0 && cluster.cuts > 0)
        #expect(cluster.failures.isEmpty, "seed \(seed): \(cluster.failures.prefix(3))")
    }
}
