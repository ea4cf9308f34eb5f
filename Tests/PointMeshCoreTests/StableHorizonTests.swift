@testable import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
import Testing

private func node(_ name: String) -> NodeID { NodeID(unchecked: name) }
private func hlc(_ wall: Int64) -> HLCTimestamp { HLCTimestamp(wallMilliseconds: wall, logical: 0) }

/// Three nodes that know each other, reporting every second (quiet: every ten).
private func trio() -> [Membership] {
    var settings = MembershipSettings()
    settings.reportMilliseconds = 1_000
    settings.quietReportMilliseconds = 10_000
    return ["a", "b", "c"].map { name in
        var membership = Membership(local: node(name), localAddress: "\(name):1", settings: settings)
        membership.merge(["a", "b", "c"].map { MemberRecord(id: node($0), address: "\($0):1") }, now: 0)
        return membership
    }
}

/// Every membership merges every other's records, as gossip would bring them.
private func spread(_ memberships: inout [Membership]) {
    let all = memberships.flatMap(\.records)
    for index in memberships.indices { memberships[index].merge(all, now: 0) }
}

/// What every member holds, and the horizon before which nothing can arrive any more
/// (issue 28: what a store may fold). The horizon is the earliest of what each member said it
/// held everything before; it is nil while any member hasn't said so over the same members.
@Suite struct StableHorizonTests {
    @Test func theHorizonIsTheEarliestOfWhatEveryMemberHolds() throws {
        var nodes = trio()
        let vector = VersionVector([node("a"): 5, node("b"): 2, node("c"): 0])
        // Each reports what it has written; none has seen another's report yet.
        nodes[0].report(now: 1_000, at: hlc(1_000), written: 5, vector: vector)
        nodes[1].report(now: 1_100, at: hlc(1_100), written: 2, vector: vector)
        nodes[2].report(now: 1_200, at: hlc(1_200), written: 0, vector: vector)
        #expect(nodes[0].localHoldings?.holdsAllBefore == 0, "it knows nothing of what its peers had written")
        #expect(nodes[0].stableHorizon == nil, "no peer's report has reached it")
        spread(&nodes)
        #expect(nodes[0].stableHorizon == 0)
        // Each now holds the others' entries up to their reports: it holds everything before
        // the earliest report of a peer.
        nodes[0].report(now: 2_000, at: hlc(2_000), written: 5, vector: vector)
        nodes[1].report(now: 2_100, at: hlc(2_100), written: 2, vector: vector)
        nodes[2].report(now: 2_200, at: hlc(2_200), written: 0, vector: vector)
        #expect(nodes[0].localHoldings?.holdsAllBefore == 1_100)
        #expect(nodes[2].localHoldings?.holdsAllBefore == 1_000)
        spread(&nodes)
        #expect(nodes.allSatisfy { $0.stableHorizon == 1_000 })
    }

    /// What an operator reads when the horizon is absent or old: the members it waits for.
    @Test func theHorizonNamesTheMembersItWaitsFor() throws {
        var nodes = trio()
        #expect(nodes[0].horizonWaitsFor == [node("a"), node("b"), node("c")])
        #expect(Membership(local: node("z"), localAddress: "z:1", seeds: ["a:1"]).horizonWaitsFor.isEmpty, "not joined: it knows of no one")
        let vector = VersionVector()
        nodes[1].report(now: 1_000, at: hlc(1_000), written: 0, vector: vector)
        nodes[2].report(now: 1_100, at: hlc(1_100), written: 0, vector: vector)
        spread(&nodes)
        #expect(nodes[1].horizonWaitsFor == [node("a")], "a hasn't reported")
        nodes[0].report(now: 1_200, at: hlc(1_200), written: 0, vector: vector)
        nodes[2].report(now: 2_000, at: hlc(2_000), written: 0, vector: vector)
        spread(&nodes)
        #expect(nodes[1].stableHorizon != nil)
        #expect(nodes[1].horizonWaitsFor == [node("b")], "b's report is the oldest")
        // A new member: every report was made without it.
        nodes[1].merge([MemberRecord(id: node("d"), address: "d:1")], now: 3_000)
        #expect(nodes[1].horizonWaitsFor == [node("a"), node("b"), node("c"), node("d")])
    }

    /// A report whose entries this node doesn't hold yet vouches for nothing: the horizon waits.
    @Test func aReportOfEntriesNotYetHeldHoldsTheHorizonBack() throws {
        var nodes = trio()
        nodes[1].report(now: 1_000, at: hlc(1_000), written: 7, vector: VersionVector([node("b"): 7]))
        spread(&nodes)
        nodes[0].report(now: 1_500, at: hlc(1_500), written: 0, vector: VersionVector([node("b"): 6]))
        #expect(nodes[0].localHoldings?.holdsAllBefore == 0)
        nodes[0].report(now: 2_500, at: hlc(2_500), written: 0, vector: VersionVector([node("b"): 7]))
        #expect(nodes[0].localHoldings?.holdsAllBefore == 0, "c hasn't reported")
        nodes[2].report(now: 2_000, at: hlc(2_000), written: 0, vector: VersionVector())
        spread(&nodes)
        nodes[0].report(now: 3_000, at: hlc(3_000), written: 0, vector: VersionVector([node("b"): 7]))
        #expect(nodes[0].localHoldings?.holdsAllBefore == 1_000)
    }

    /// After a join (or a retirement) reports made over the old members don't count: the new
    /// member's first entries may not have reached a node that didn't know of it.
    @Test func aChangeOfMembersWaitsForReportsOverTheNewMembers() throws {
        var nodes = trio()
        for round in 1...2 {
            for index in nodes.indices { nodes[index].report(now: Int64(round * 1_000 + index), at: hlc(Int64(round * 1_000 + index)), written: 0, vector: VersionVector()) }
            spread(&nodes)
        }
        #expect(nodes[0].stableHorizon == 1_000)
        nodes[0].merge([MemberRecord(id: node("d"), address: "d:1")], now: 0)
        #expect(nodes[0].stableHorizon == nil)
        nodes[0].retire(node("d"))
        #expect(nodes[0].stableHorizon == 1_000, "the same members again")
        // A retired member's report no longer counts, nor does it hold the horizon back.
        nodes[0].retire(node("c"))
        #expect(nodes[0].stableHorizon == nil)
        nodes[0].report(now: 5_000, at: hlc(5_000), written: 0, vector: VersionVector())
        nodes[1].retire(node("c"))
        nodes[1].report(now: 5_000, at: hlc(5_000), written: 0, vector: VersionVector())
        nodes[0].merge(nodes[1].records, now: 0)
        #expect(nodes[0].stableHorizon == 2_000, "b held a's entries up to a's report of round 2, and no later one")
    }

    @Test func aLaterReportReplacesAnEarlierOneAndNotTheOtherWay() throws {
        var a = trio()[0]
        let later = HoldingsReport(at: hlc(2_000), written: 3, holdsAllBefore: 1_500, considered: 1)
        let earlier = HoldingsReport(at: hlc(1_000), written: 1, holdsAllBefore: 500, considered: 1)
        a.merge([MemberRecord(id: node("b"), address: "b:1", holdings: later)], now: 0)
        let digest = a.digest
        a.merge([MemberRecord(id: node("b"), address: "b:1", holdings: earlier)], now: 0)
        a.merge([MemberRecord(id: node("b"), address: "b:1")], now: 0)
        #expect(a.peers[node("b")]?.holdings == later && a.digest == digest)
        #expect(a.legacyDigest == trio()[0].legacyDigest, "the digest a version 6 peer computes leaves reports out")
    }

    /// The first report comes within an interval of the first ask, at a moment drawn from the
    /// node's id (a chain restarted at once doesn't report in one burst); later ones after an
    /// interval of activity, or of quiet.
    @Test func reportsAreDueFirstWithinAnIntervalThenAfterActivityOrAfterQuiet() throws {
        var nodes = trio()
        let firsts = nodes.indices.map { index in (0...1_000).first { nodes[index].isReportDue(now: $0, written: 0, held: 0) } }
        #expect(firsts.allSatisfy { $0 != nil } && Set(firsts).count == 3, "\(firsts)")
        var a = nodes[0]
        a.report(now: 0, at: hlc(0), written: 0, vector: VersionVector())
        let asks: [(now: Int64, written: Int64, due: Bool)] = [(999, 1, false), (1_000, 1, true), (9_999, 0, false), (10_000, 0, true)]
        for ask in asks {
            let due = a.isReportDue(now: ask.now, written: ask.written, held: ask.written)
            #expect(due == ask.due, "\(ask)")
        }
        a.retire(node("a"))
        let retiredDue = a.isReportDue(now: 20_000, written: 0, held: 0)
        #expect(!retiredDue)
    }

    /// A report alone leaves a settled pair settled (two small frames): it goes with the next
    /// session that differs for another reason, from version 7, as `reported_members`. A
    /// version 6 session never carries it, and a mixed pair settles as before.
    @Test(arguments: [UInt8(6), 7])
    func reportsTravelWithSessionsThatDifferAndNeverUnsettleAPair(version: UInt8) throws {
        var ma = trio()[0], mb = trio()[1]
        var a = MemoryLedger(origin: node("a")), b = MemoryLedger(origin: node("b"))
        ma.report(now: 1_000, at: hlc(1_000), written: 0, vector: VersionVector())
        let (_, _, settled) = try run(GossipSession(role: .initiator, peer: node("b"), version: version), &a, &ma,
                                      GossipSession(role: .responder, peer: node("a"), version: version), &b, &mb)
        #expect(settled.map(\.name) == ["brief_summary", "in_sync"])
        #expect(mb.peers[node("a")]?.holdings == nil)
        _ = try a.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "amy"), amount: Fen(100))), now: 2_000)
        let (_, _, sent) = try run(GossipSession(role: .initiator, peer: node("b"), version: version), &a, &ma,
                                   GossipSession(role: .responder, peer: node("a"), version: version), &b, &mb)
        #expect(sent.contains { if case .reportedMembers = $0 { true } else { false } } == (version == 7))
        #expect((mb.peers[node("a")]?.holdings != nil) == (version == 7))
        let (_, _, again) = try run(GossipSession(role: .initiator, peer: node("b"), version: version), &a, &ma,
                                    GossipSession(role: .responder, peer: node("a"), version: version), &b, &mb)
        #expect(again.map(\.name) == ["brief_summary", "in_sync"])
    }

    @Test func reportedMembersReadBackFromTheWireAndNonsenseIsRefused() throws {
        let report = HoldingsReport(at: HLCTimestamp(wallMilliseconds: 1_700_000_000_000, logical: 3), written: 42, holdsAllBefore: 1_699_000_000_000, considered: .max)
        let message = GossipMessage.reportedMembers(complete: true, [MemberRecord(id: node("a"), address: "a:1", holdings: report),
                                                                     MemberRecord(id: node("z"), address: "z:1", retired: true)])
        #expect(try GossipMessage.decode(type: 0x29, payload: message.payload()) == message)
        var flag = message.payload()
        flag[1 + 4 + 3 + 5 + 1] = 2
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x29, payload: flag) }
        let backwards = GossipMessage.reportedMembers(complete: false, [MemberRecord(id: node("a"), address: "a:1",
            holdings: HoldingsReport(at: hlc(1), written: 0, holdsAllBefore: 2, considered: 0))])
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x29, payload: backwards.payload()) }
        var sealed = report
        sealed.seal = ModelSeals.Sealer(node: node("a")).seal(report.sealMessage(origin: node("a")))
        let withSeal = GossipMessage.reportedMembers(complete: false, [MemberRecord(id: node("a"), address: "a:1", holdings: sealed)])
        #expect(try GossipMessage.decode(type: 0x29, payload: withSeal.payload()) == withSeal)
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x29, payload: withSeal.payload().dropLast(5).map { $0 }) }
    }
}

/// Holdings reports sealed by their node (`ReportSealCheck`): a member can relay another's
/// report, never forge or alter one, since a forged report could move the horizon that folding
/// relies on past entries some node lacks.
@Suite struct ReportSealTests {
    static let certified = SealPolicy(verifier: ModelSeals.Verifier(), requirement: .everyOrigin)
    static let migrating = SealPolicy(verifier: ModelSeals.Verifier(), requirement: .certifiedOrigins)
    static let known = Dictionary(uniqueKeysWithValues: ["a", "b"].map { name in
        let certificate = ModelSeals.Sealer(node: node(name)).certificate
        return (CertificateFingerprint.of(certificate: certificate), certificate)
    })

    static func report(sealedBy sealer: String? = "a", for origin: String = "a") -> HoldingsReport {
        var report = HoldingsReport(at: hlc(5_000), written: 7, holdsAllBefore: 4_000, considered: 9)
        report.seal = sealer.map { ModelSeals.Sealer(node: node($0)).seal(report.sealMessage(origin: node(origin))) }
        return report
    }

    static func check(_ report: HoldingsReport, of origin: String = "a", policy: SealPolicy = certified,
                      knowing certificates: [CertificateFingerprint: [UInt8]] = known, certified: Bool = true) -> ReportSealCheck.Verdict {
        ReportSealCheck.check(report, of: node(origin), policy: policy, certificate: { certificates[$0] }, certified: { _ in certified })
    }

    @Test func aReportStandsOnlyUnderItsOwnNodesSeal() {
        #expect(Self.check(Self.report()) == .admitted)
        var altered = Self.report()
        altered.written = 0
        #expect(Self.check(altered) == .refused("a report in the name of a whose seal does not match it: altered or forged"))
        #expect(Self.check(Self.report(sealedBy: "b")) == .refused("a report in the name of a sealed by b's certificate"))
        #expect(Self.check(Self.report(sealedBy: "b", for: "a"), of: "b") == .refused("a report in the name of b whose seal does not match it: altered or forged"))
        #expect(Self.check(Self.report(sealedBy: nil)) == .refused("a report in the name of a without its seal"))
        #expect(Self.check(Self.report(), knowing: [:]) == .unknownCertificate)
        let foreign = Array(ModelSeals.Sealer(node: node("a")).certificate.dropLast()) + [0]
        #expect(Self.check(Self.report(), knowing: [CertificateFingerprint.of(certificate: ModelSeals.Sealer(node: node("a")).certificate): foreign])
                == .refused("a report in the name of a sealed by a certificate the chain's authority did not issue"))
    }

    @Test func unsealedReportsStandWhereSealsAreNotRequired() {
        #expect(Self.check(Self.report(sealedBy: nil), policy: .unchecked) == .admitted)
        #expect(Self.check(Self.report(sealedBy: "b"), policy: .unchecked) == .admitted)
        // A chain moving from the cluster key to certificates: unsealed only until the node has shown one.
        #expect(Self.check(Self.report(sealedBy: nil), policy: Self.migrating, certified: false) == .admitted)
        #expect(Self.check(Self.report(sealedBy: nil), policy: Self.migrating, certified: true) == .refused("a report in the name of a without its seal"))
        #expect(Self.check(Self.report(sealedBy: "b"), policy: Self.migrating, certified: false) == .refused("a report in the name of a sealed by b's certificate"))
    }

    /// A refused report never replaces the one known (nor is relayed), and only a report that
    /// would replace it is checked: a complete member list repeats every member's.
    @Test func aRefusedReportLeavesTheKnownOneAndOnlyNewerReportsAreChecked() {
        var nodes = trio()
        nodes[0].report(now: 1_000, at: hlc(1_000), written: 3, vector: VersionVector()) { report in
            ModelSeals.Sealer(node: node("a")).seal(report.sealMessage(origin: node("a")))
        }
        var checked = 0
        nodes[1].merge(nodes[0].records, now: 1_000) { origin, report in
            checked += 1
            return Self.check(report, of: origin.rawValue) == .admitted
        }
        let real = try? #require(nodes[1].peers[node("a")]?.holdings)
        #expect(real?.written == 3 && checked == 1)
        var forged = HoldingsReport(at: hlc(9_000), written: 0, holdsAllBefore: 9_000, considered: real?.considered ?? 0)
        forged.seal = real?.seal
        nodes[1].merge([MemberRecord(id: node("a"), address: "a:1", holdings: forged)], now: 2_000) { origin, report in
            checked += 1
            return Self.check(report, of: origin.rawValue) == .admitted
        }
        #expect(nodes[1].peers[node("a")]?.holdings == real && checked == 2)
        nodes[1].merge(nodes[0].records, now: 3_000, complete: true) { _, _ in
            checked += 1
            return true
        }
        #expect(checked == 2, "the known report was checked again")
    }
}
