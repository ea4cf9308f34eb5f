import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
import Testing

/// The chain's stable horizon under faults (issue 28: what a store may fold). Whatever is lost,
/// duplicated, reordered, cut off, crashed or clock-jumped, no node's horizon ever passes an
/// entry a live node lacks; once the faults stop it moves past every entry; a node that is down
/// holds it back until it is retired.
@Suite struct StableHorizonSimulationTests {
    private static func earning(_ receipt: String) -> PreparedWrite {
        PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: "a"), amount: Fen(100)))
    }

    /// Reports every ten seconds while a node writes or receives, every twenty when quiet.
    private static var settings: MembershipSettings {
        var settings = MembershipSettings()
        settings.reportMilliseconds = 10_000
        settings.quietReportMilliseconds = 20_000
        return settings
    }

    /// The earliest horizon any node (but `excluded`, whose view is stale while it is down)
    /// knows, nil while one knows none.
    private static func horizon(_ cluster: SimulatedCluster<MemoryLedger>, excluding excluded: Int? = nil) -> Int64? {
        let horizons = cluster.nodes.indices.filter { $0 != excluded }.map { cluster.nodes[$0].membership.stableHorizon }
        return horizons.contains(nil) ? nil : horizons.compactMap { $0 }.min()
    }

    /// The newest timestamp (wall ms) of any entry held anywhere.
    private static func newestEntry(_ cluster: SimulatedCluster<MemoryLedger>) -> Int64 {
        cluster.nodes.flatMap { $0.ledger.allEntries() }.map(\.timestamp.wallMilliseconds).max() ?? 0
    }

    @Test(arguments: simulationSeeds(from: "POINTMESH_SIM_HORIZON_SEEDS", default: 6))
    func theHorizonNeverPassesAnEntryALiveNodeLacks(seed: UInt64) throws {
        var cluster = SimulatedCluster(count: 6, seed: seed, membershipSettings: Self.settings) { MemoryLedger(origin: $0) }
        var random = SplitMix64(seed: seed ^ 0x5ab1e)
        var checked = 0
        for step in 1...480 {
            cluster.run(until: Int64(step) * 500)
            // Only at a node that has joined: what a node writes before it first reaches the
            // chain is outside what the horizon covers (`Membership.stableHorizon`).
            let writer = Int(random.next() % 6)
            if cluster.nodes[writer].membership.hasJoined { _ = try? cluster.write(Self.earning("R\(step)"), at: writer) }
            guard step % 4 == 0 else { continue }
            let violations = try cluster.stableHorizonViolations()
            #expect(violations.isEmpty, "seed \(seed), step \(step): \(violations.prefix(3))")
            if cluster.nodes.contains(where: { $0.membership.stableHorizon != nil }) { checked += 1 }
        }
        #expect(checked > 25, "seed \(seed): a horizon was known at only \(checked) of 120 checks: they proved little")
        cluster.heal()
        // A horizon passes an entry once every node's clock has: the slowest may be two
        // minutes behind the fastest (`FaultSettings.maximumClockSkew`). Reports travel with
        // sessions that differ for another reason, so the chain goes on trading, more slowly.
        let newest = Self.newestEntry(cluster)
        var passed = false
        for second in 1...400 where !passed {
            cluster.run(until: 240_000 + Int64(second) * 1_000)
            if second % 5 == 0 { _ = try cluster.write(Self.earning("L\(second)"), at: Int(random.next() % 6)) }
            if second % 10 == 0 { #expect(try cluster.stableHorizonViolations().isEmpty) }
            passed = Self.horizon(cluster).map { $0 > newest } ?? false
        }
        #expect(passed, "seed \(seed): once the faults stopped, the horizon did not pass the newest entry before it (\(Self.horizon(cluster).map(String.init) ?? "none") ≤ \(newest))")
        #expect(cluster.failures.isEmpty, "\(cluster.failures.prefix(3))")
    }

    /// A store that stops for good may hold entries no other node has: the horizon waits for it
    /// until the chain retires it, and then moves on without it.
    @Test func aStoppedNodeHoldsTheHorizonBackUntilItIsRetired() throws {
        var cluster = SimulatedCluster(count: 4, seed: 7, faults: .none, fullMembership: true, membershipSettings: Self.settings) { MemoryLedger(origin: $0) }
        /// Runs until `time`, a write every two seconds at node 0 (reports travel with them).
        func trade(until time: Int64) throws {
            while cluster.now < time {
                cluster.run(until: cluster.now + 2_000)
                _ = try cluster.write(Self.earning("T\(cluster.now)"), at: 0)
            }
        }
        _ = try cluster.write(Self.earning("R1"), at: 3)
        try trade(until: 40_000)
        let before = try #require(Self.horizon(cluster))
        cluster.stop(3)
        let stopped = cluster.ledgerTime
        try trade(until: 80_000)
        let stalled = try #require(Self.horizon(cluster, excluding: 3))
        #expect(stalled >= before && stalled <= stopped, "the horizon moved past node 3's last report: \(stalled)")
        cluster.retire(3, at: 0)
        try trade(until: 140_000)
        let moved = try #require(Self.horizon(cluster, excluding: 3))
        #expect(moved > 80_000, "the horizon did not move on after node 3 was retired: \(moved)")
        #expect(try cluster.stableHorizonViolations().isEmpty)
    }
}
