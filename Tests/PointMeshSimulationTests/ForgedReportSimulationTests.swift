import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
import Testing

/// Seeds: `POINTMESH_FORGED_REPORT_SEEDS=200 swift test --filter ForgedReportSimulation` runs that many.
private let forgingSeeds = simulationSeeds(from: "POINTMESH_FORGED_REPORT_SEEDS", default: 4)

/// A Byzantine member that forges holdings reports in other members' names (issue 28: the
/// horizon a store folds below must not be movable by one member): every node seals its
/// entries and reports (`ModelSeals`). Every few steps the forger makes a report for an honest
/// member that says it wrote nothing and held everything up to a day ahead, later than its
/// real one, in one of three disguises: unsealed, sealed with the forger's own key, or with the
/// member's real seal copied from its last report; it takes it into its own member list and
/// gossips it like any record. Seeded faults throughout. What must hold on every honest node:
/// no report it holds for a member is one the member didn't make, and its horizon never passes
/// an entry of an honest node that another lacks; once the faults stop, the horizon still
/// passes every entry. (The forger's own report, sealed by itself, counts what it thinks it
/// holds from its forgeries: a member can always lie about itself, as a clock fault would, and
/// only its own entries and its own copy are at stake.)
@Suite struct ForgedReportSimulationTests {
    static let forger = 4, nodeCount = 6

    private static var settings: MembershipSettings {
        var settings = MembershipSettings()
        settings.reportMilliseconds = 10_000
        settings.quietReportMilliseconds = 20_000
        return settings
    }

    private static func earning(_ receipt: String) -> PreparedWrite {
        PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: "a"), amount: Fen(100)))
    }

    /// What a run saw on the honest nodes.
    struct Run {
        var forged = 0
        /// Reports an honest node held for a member that the member did not make.
        var taken: [String] = []
        var violations: [String] = []
        var horizonPassedTheNewestEntry = false
        var failures: [String] = []
    }

    /// `checking`: whether the honest nodes check the seals they receive (the control run turns
    /// it off, to show the forgeries would be taken otherwise).
    static func run(seed: UInt64, checking: Bool = true) throws -> Run {
        var cluster = SimulatedCluster(count: Self.nodeCount, seed: seed, membershipSettings: Self.settings) { MemoryLedger(origin: $0) }
        cluster.sealEverywhere()
        if !checking {
            for index in cluster.nodes.indices { cluster.tamper(withLedgerOf: index) { $0.sealPolicy = .unchecked } }
        }
        let policy = SealPolicy(verifier: ModelSeals.Verifier(), requirement: .everyOrigin)
        let certificates = Dictionary(uniqueKeysWithValues: cluster.nodes.map { node in
            let certificate = ModelSeals.Sealer(node: node.id).certificate
            return (CertificateFingerprint.of(certificate: certificate), certificate)
        })
        let honest = cluster.nodes.indices.filter { $0 != Self.forger }
        var random = SplitMix64(seed: seed ^ 0xF0A6ED)
        var run = Run()
        /// Every report held by an honest node for a member must be one the member made.
        func check(_ step: Int) throws {
            for index in honest {
                for (member, peer) in cluster.nodes[index].membership.peers {
                    guard let held = peer.holdings else { continue }
                    let authentic = ReportSealCheck.check(held, of: member, policy: policy, certificate: { certificates[$0] }, certified: { _ in true })
                    if authentic != .admitted { run.taken.append("step \(step): \(cluster.nodes[index].id) holds a report for \(member) it did not make") }
                }
            }
            run.violations += try cluster.stableHorizonViolations(honest: Set(honest)).map { "step \(step): \($0)" }
        }
        for step in 1...480 {
            cluster.run(until: Int64(step) * 500)
            let writer = Int(random.next() % UInt64(Self.nodeCount))
            if cluster.nodes[writer].membership.hasJoined { _ = try? cluster.write(Self.earning("R\(step)"), at: writer) }
            if step % 4 == 0 { try check(step) }
            guard step % 3 == 0, cluster.nodes[Self.forger].up else { continue }
            let victim = honest[Int(random.next() % UInt64(honest.count))]
            let victimID = cluster.nodes[victim].id
            let disguise = random.next() % 3, forgerID = cluster.nodes[Self.forger].id, now = cluster.now
            cluster.tamper(withMembershipOf: Self.forger) { membership in
                let real = membership.peers[victimID]?.holdings
                let at = HLCTimestamp(wallMilliseconds: (real?.at.wallMilliseconds ?? 0) + 1 + Int64(random.next() % 86_400_000), logical: 0)
                var forged = HoldingsReport(at: at, written: 0, holdsAllBefore: at.wallMilliseconds, considered: real?.considered ?? membership.memberSetHash)
                switch disguise {
                case 0: forged.seal = nil
                case 1: forged.seal = ModelSeals.Sealer(node: forgerID).seal(forged.sealMessage(origin: victimID))
                default: forged.seal = real?.seal
                }
                membership.merge([MemberRecord(id: victimID, address: "sim:\(victim)", holdings: forged)], now: now)
            }
            run.forged += 1
        }
        cluster.heal()
        let newest = cluster.nodes.flatMap { $0.ledger.allEntries() }.map(\.timestamp.wallMilliseconds).max() ?? 0
        for second in 1...400 where !run.horizonPassedTheNewestEntry {
            cluster.run(until: 240_000 + Int64(second) * 1_000)
            if second % 5 == 0 { _ = try cluster.write(Self.earning("L\(second)"), at: honest[Int(random.next() % UInt64(honest.count))]) }
            if second % 10 == 0 { try check(480 + second) }
            let horizons = honest.map { cluster.nodes[$0].membership.stableHorizon }
            run.horizonPassedTheNewestEntry = !horizons.contains(nil) && horizons.allSatisfy { ($0 ?? .min) > newest }
        }
        // The forger's own horizon rests on its forgeries: what arrives there below it is its own
        // affair (`SimulatedCluster.checkArrivals` checks every node).
        let forgerID = cluster.nodes[Self.forger].id
        run.failures = cluster.failures.filter { !$0.contains(" arrived at \(forgerID) ") }
        return run
    }

    @Test(arguments: forgingSeeds)
    func noHonestNodeTakesAReportAMemberDidNotMake(seed: UInt64) throws {
        let run = try Self.run(seed: seed)
        #expect(run.forged > 100, "seed \(seed): only \(run.forged) forgeries")
        #expect(run.taken.isEmpty, "seed \(seed): \(run.taken.prefix(3))")
        #expect(run.violations.isEmpty, "seed \(seed): \(run.violations.prefix(3))")
        #expect(run.horizonPassedTheNewestEntry, "seed \(seed): once the faults stopped, the honest nodes' horizons did not pass the newest entry")
        #expect(run.failures.isEmpty, "seed \(seed): \(run.failures.prefix(3))")
    }

    /// The control: with seals not checked, the same forgeries are taken, and a horizon passes
    /// entries a live node lacks. The test above would fail without the check.
    @Test func withoutTheCheckTheForgeriesAreTaken() throws {
        let run = try Self.run(seed: 1, checking: false)
        #expect(!run.taken.isEmpty)
        #expect(!run.violations.isEmpty)
    }
}
