@testable import PointMeshCore
import PointMeshReplication
import Testing

private func node(_ name: String) -> NodeID { NodeID(unchecked: name) }
private func record(_ name: String, retired: Bool = false) -> MemberRecord { MemberRecord(id: node(name), address: "\(name):1", retired: retired) }

/// A node `local` that knows `others` (with the addresses `record` gives).
private func membership(_ local: String, knowing others: [String]) -> Membership {
    var membership = Membership(local: node(local), localAddress: "\(local):1")
    membership.merge(others.map { record($0) }, now: 0)
    return membership
}

/// Two nodes that know the same members: `a`, `b` and `stores` more.
private func settledPair(stores: Int) -> (Membership, Membership) {
    let names = (0..<stores).map { "s\($0)" }
    return (membership("a", knowing: ["b"] + names), membership("b", knowing: ["a"] + names))
}

/// The member lists among `sent` (`members`, or from version 7 `reported_members`).
private func memberLists(_ sent: [GossipMessage]) -> [(complete: Bool, records: [MemberRecord])] {
    sent.compactMap { message in
        switch message {
        case .members(let complete, let records), .reportedMembers(let complete, let records): (complete, records)
        default: nil
        }
    }
}

/// Frame bytes of `messages` as the simulation counts them (header and MAC included).
private func bytes(_ messages: [GossipMessage]) -> Int { messages.reduce(0) { $0 + $1.payload().count + 38 } }

/// Protocol version 6 (issue 28, item 3): a settled pair's session is two small frames, and
/// members travel as the changes a peer lacks, with a complete list only where neither side can
/// tell what the other lacks.
@Suite struct CompactGossipTests {
    @Test func aPeerWhoseDigestThisNodeOnceHadLacksOnlyWhatChangedSince() throws {
        var (a, b) = settledPair(stores: 200)
        #expect(a.digest == b.digest && a.records(missingAt: b.digest) == [])
        let before = b.digest
        a.merge([record("s200")], now: 0)
        a.retire(node("s5"))
        let missing = try #require(a.records(missingAt: before))
        #expect(Set(missing) == [record("s200"), record("s5", retired: true)])
        b.merge(missing, now: 0)
        #expect(b.digest == a.digest)
        // A peer that knows a member this node does not: it can't tell what that peer lacks.
        let other = membership("c", knowing: ["a", "b"])
        #expect(a.records(missingAt: other.digest) == nil)
    }

    @Test func aDigestOlderThanTheLogCanNotBeAnswered() {
        var (a, b) = settledPair(stores: 2)
        let before = b.digest
        for index in 0...Membership.changeLogLimit { a.merge([record("n\(index)")], now: 0) }
        #expect(a.records(missingAt: before) == nil)
        b.merge([record("late")], now: 0)
        #expect(a.records(missingAt: b.digest) == nil)
    }

    /// After merging a peer's complete list, a node knows what that peer lacks.
    @Test func aCompleteListMergedIsRememberedWithWhatThePeerLacks() throws {
        var a = membership("a", knowing: ["b", "x"]), b = membership("b", knowing: ["a", "y"])
        a.retire(node("z"), address: "z:1")
        a.merge(b.records, now: 0, complete: true)
        let missing = try #require(a.records(missingAt: b.digest))
        #expect(Set(missing) == [record("x"), record("z", retired: true)])
        b.merge(missing, now: 0)
        #expect(b.digest == a.digest)
    }

    @Test func aSettledSessionIsABriefSummaryAndInSync() throws {
        var (ma, mb) = settledPair(stores: 1_000)
        var a = MemoryLedger(origin: node("a")), b = MemoryLedger(origin: node("b"))
        let (_, _, sent) = try run(GossipSession(role: .initiator, exchanges: GossipExchangeName.standard, peer: node("b")), &a, &ma,
                                   GossipSession(role: .responder, exchanges: GossipExchangeName.standard, peer: node("a")), &b, &mb)
        #expect(sent.map(\.name) == ["brief_summary", "in_sync"])
        #expect(bytes(sent) == 108)
        // Version 5 with the same pair: both digests in hex, and the rights exchange run empty.
        let (_, _, before) = try run(GossipSession(role: .initiator, exchanges: GossipExchangeName.standard, peer: node("b"), version: 5), &a, &ma,
                                     GossipSession(role: .responder, exchanges: GossipExchangeName.standard, peer: node("a"), version: 5), &b, &mb)
        #expect(before.map(\.name) == ["rights_request", "rights_grants", "summary", "in_sync"])
        #expect(bytes(before) > 2 * bytes(sent))
    }

    /// One member more at either end of a 1,000-member pair: a delta of one record, whichever
    /// side knows it, and the pair ends settled.
    @Test(arguments: [true, false])
    func aChangeTravelsAsADeltaWhicheverSideKnowsIt(initiatorKnows: Bool) throws {
        var (ma, mb) = settledPair(stores: 1_000)
        if initiatorKnows { ma.merge([record("new")], now: 0) } else { mb.merge([record("new")], now: 0) }
        var a = MemoryLedger(origin: node("a")), b = MemoryLedger(origin: node("b"))
        let (_, _, sent) = try run(GossipSession(role: .initiator, peer: node("b")), &a, &ma, GossipSession(role: .responder, peer: node("a")), &b, &mb)
        #expect(memberLists(sent).map(\.records) == [[record("new")]])
        #expect(ma.digest == mb.digest)
        #expect(bytes(sent) < 1_000, "no member list (1,000 members are about 30 KB): \(bytes(sent)) bytes")
    }

    /// Changes on both sides: the responder sends its complete list, the initiator remembers
    /// it, and the next session in either direction sends the rest as a delta.
    @Test(arguments: [true, false])
    func changesOnBothSidesCostOneCompleteListThenDeltas(sameDirection: Bool) throws {
        var (ma, mb) = settledPair(stores: 300)
        ma.merge([record("x")], now: 0)
        mb.merge([record("y")], now: 0)
        var a = MemoryLedger(origin: node("a")), b = MemoryLedger(origin: node("b"))
        let (_, _, first) = try run(GossipSession(role: .initiator, peer: node("b")), &a, &ma, GossipSession(role: .responder, peer: node("a")), &b, &mb)
        #expect(memberLists(first).contains { $0.complete && $0.records.count == 303 })
        #expect(ma.records.contains(record("y")) && !mb.records.contains(record("x")))
        let second = sameDirection
            ? try run(GossipSession(role: .initiator, peer: node("b")), &a, &ma, GossipSession(role: .responder, peer: node("a")), &b, &mb).2
            : try run(GossipSession(role: .initiator, peer: node("a")), &b, &mb, GossipSession(role: .responder, peer: node("b")), &a, &ma).2
        #expect(memberLists(second).contains { !$0.complete && $0.records == [record("x")] })
        #expect(!memberLists(second).contains { $0.complete })
        #expect(ma.digest == mb.digest)
    }

    /// A retirement reaches a peer as a delta, and no stale list brings the member back.
    @Test func aRetirementTravelsAsADeltaAndStaysRetired() throws {
        var (ma, mb) = settledPair(stores: 100)
        let stale = mb.records
        ma.retire(node("s7"))
        var a = MemoryLedger(origin: node("a")), b = MemoryLedger(origin: node("b"))
        _ = try run(GossipSession(role: .initiator, peer: node("b")), &a, &ma, GossipSession(role: .responder, peer: node("a")), &b, &mb)
        #expect(mb.isRetired(node("s7")) && mb.peers[node("s7")] == nil)
        mb.merge(stale, now: 0, complete: true)
        mb.merge(stale, now: 0)
        #expect(mb.isRetired(node("s7")) && mb.peers[node("s7")] == nil && mb.digest == ma.digest)
    }

    /// Most picks go to peers this node keeps a connection to (no handshake), one in
    /// `anyPeerEvery` to any due peer, and a partner that is not due is left alone.
    @Test func mostPicksGoToPartnersAndSomeToAnyPeer() throws {
        var membership = membership("a", knowing: (0..<200).map { "s\($0)" })
        membership.failed(Membership.Target(id: node("s3"), address: "s3:1"), now: 0)
        let partners: Set<NodeID> = [node("s1"), node("s2"), node("s3")]
        var random = SplitMix64(seed: 28)
        var toPartners = 0, toOthers = 0
        for _ in 0..<1_000 {
            let targets = membership.targets(now: 10, fanout: 2, partners: partners, using: &random)
            #expect(targets.count == 2 && Set(targets.map(\.id)).count == 2)
            #expect(!targets.contains { $0.id == node("s3") }, "s3 is not due")
            for target in targets { if partners.contains(try #require(target.id)) { toPartners += 1 } else { toOthers += 1 } }
        }
        let expected = 2_000 / MembershipSettings().anyPeerEvery
        #expect(toOthers > expected / 2 && toOthers < 2 * expected + 2_000 / 100, "\(toOthers) of 2,000 picks to other peers")
        #expect(toPartners + toOthers == 2_000)
        // Without partners every pick is any due peer.
        let unbiased = membership.targets(now: 10, fanout: 2, using: &random)
        #expect(unbiased.count == 2)
    }

    @Test func theNewMessagesReadBackFromTheWire() throws {
        let messages: [GossipMessage] = [
            .briefSummary(digest: ReplicationExchange.combinedDigest(ledger: "l", membership: "m")),
            .vector(VersionVector([node("a"): 3, node("b"): 9]), membershipDigest: "d"),
            .members(complete: true, [record("a"), record("z", retired: true)]),
            .members(complete: false, []),
        ]
        for message in messages {
            #expect(try GossipMessage.decode(type: message.typeCode, payload: message.payload()) == message)
        }
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x26, payload: [UInt8](repeating: 0, count: 31)) }
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x28, payload: [2, 0, 0, 0, 0]) }
    }
}
