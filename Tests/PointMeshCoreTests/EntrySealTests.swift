import PointMeshReplication
import PointMeshSimulation
@testable import PointMeshCore
import Testing

private let origin = NodeID(unchecked: "s1"), relay = NodeID(unchecked: "s2"), taker = NodeID(unchecked: "s3")

private func purchase(_ receipt: String, fen: Int64 = 10_000) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: "ann"), amount: Fen(fen), items: []))
}

/// A ledger of `node` that seals its writes, and takes a peer's only as seals allow (`required`).
private func sealing(_ node: NodeID, required: Bool = true) -> MemoryLedger {
    var ledger = MemoryLedger(origin: node)
    ledger.sealer = ModelSeals.Sealer(node: node)
    ledger.sealPolicy = SealPolicy(verifier: ModelSeals.Verifier(), requirement: required ? .everyOrigin : .certifiedOrigins)
    return ledger
}

/// `count` entries written by `origin`, the seals its ledger made on them.
private func written(_ count: Int) throws -> (MemoryLedger, SealedEntries) {
    var ledger = sealing(origin)
    for index in 0..<count { _ = try ledger.write(purchase("R\(index)"), now: Int64(index)) }
    return (ledger, ledger.sealedEntries(of: origin, after: 0, limit: .max))
}

/// The seal rule (`SealCheck`), unit by unit: what a seal covers, what fails, what waits.
@Suite struct EntrySealTests {
    @Test func aSealCoversItsEntryAndEveryEarlierOneOfItsOrigin() throws {
        let (_, sent) = try written(3)
        // Only the last seal is kept: it vouches for all three.
        let last = try #require(sent.entries.last)
        let batch = SealedEntries(sent.entries, seals: [last.id: try #require(sent.seals[last.id])], certificates: sent.certificates)
        var receiver = sealing(taker)
        let applied = receiver.apply(batch, from: relay)
        #expect(applied.stored == 3 && applied.refusals.isEmpty && applied.awaitingSeal.isEmpty)
        // And what it stored passes its seals on.
        #expect(receiver.sealedEntries(of: origin, after: 0, limit: 9).seals[last.id] == batch.seals[last.id])
    }

    @Test func anEntryAlteredAfterItsSealWasMadeIsRefused() throws {
        let (_, sent) = try written(3)
        var altered = sent
        altered.entries[1].moves[0].amount = Points(altered.entries[1].moves[0].amount.value + 1_000)
        var receiver = sealing(taker, required: false)
        let applied = receiver.apply(altered, from: relay)
        // The first entry's own seal still covers it; the second's fails, and the rest goes with it.
        #expect(applied.stored == 1)
        #expect(applied.refusals == [.badSignature(sent.entries[1].id)])
        #expect(receiver.versionVector()[origin] == 1)
    }

    @Test func aSealMadeByAnotherNodesKeyIsRefused() throws {
        let (_, sent) = try written(1)
        let entry = sent.entries[0]
        let chain = OriginChain.empty.extended(sequence: 1, bytes: EntryCoding.encode(entry))
        let forger = ModelSeals.Sealer(node: relay)
        let forged = SealedEntries([entry], seals: [entry.id: forger.seal(EntrySeal.message(origin: origin, chain: chain))],
                                   certificates: [CertificateFingerprint.of(certificate: forger.certificate): forger.certificate])
        var receiver = sealing(taker)
        let applied = receiver.apply(forged, from: relay)
        #expect(applied.stored == 0 && applied.refusals == [.certificateOfAnotherNode(entry.id, certified: relay)])
    }

    @Test func aSealByACertificateTheAuthorityDidNotIssueOrThatDidNotComeIsRefused() throws {
        let (_, sent) = try written(1)
        let entry = sent.entries[0]
        let seal = try #require(sent.seals[entry.id])
        var receiver = sealing(taker)
        #expect(receiver.apply(SealedEntries([entry], seals: sent.seals), from: relay).refusals == [.unknownCertificate(entry.id)])
        let foreign = Array("not the authority's".utf8)
        var other = seal
        other.certificate = CertificateFingerprint.of(certificate: foreign)
        let batch = SealedEntries([entry], seals: [entry.id: other], certificates: [other.certificate: foreign])
        #expect(receiver.apply(batch, from: relay).refusals == [.foreignCertificate(entry.id)])
        #expect(receiver.versionVector()[origin] == 0)
    }

    @Test func unsealedEntriesWaitUnlessTheyComeFromTheirOriginOrTheKeyVouchesForThem() throws {
        let (_, sent) = try written(2)
        let bare = SealedEntries(sent.entries)
        var certificatesOnly = sealing(taker)
        let waiting = certificatesOnly.apply(bare, from: relay)
        #expect(waiting.stored == 0 && waiting.refusals.isEmpty && waiting.awaitingSeal.entries == sent.entries)
        // Offered again with the seal that came later, they are taken.
        #expect(certificatesOnly.apply(SealedEntries(waiting.awaitingSeal.entries, seals: sent.seals, certificates: sent.certificates), from: relay).stored == 2)
        // From the origin itself, over a channel its certificate proved, they need no seal.
        var direct = sealing(taker)
        #expect(direct.apply(bare, from: origin).stored == 2)
        // A node in a chain moving to certificates takes them on the relay's word while their
        // origin has shown no certificate; once it has, only as its seals cover them.
        var moving = sealing(taker, required: false)
        #expect(moving.apply(SealedEntries([sent.entries[0]]), from: relay).stored == 1)
        var certifiedAlready = sealing(taker, required: false)
        let first = sent.entries[0]
        #expect(certifiedAlready.apply(SealedEntries([first], seals: [first.id: try #require(sent.seals[first.id])], certificates: sent.certificates), from: relay).stored == 1)
        #expect(certifiedAlready.apply(SealedEntries([sent.entries[1]]), from: relay).stored == 0)
    }

    /// A store's own campaign, sealed by its own key, relayed: authentic, and refused for the
    /// role its certificate names, whoever relays it; its entries before it stand.
    @Test func aSealedEntryOutOfItsOriginsCertifiedRoleIsRefused() throws {
        var store = MemoryLedger(origin: origin)
        store.sealer = ModelSeals.Sealer(node: origin, role: .store)
        _ = try store.write(purchase("R0"), now: 0)
        let campaign = Campaign(id: CampaignID(unchecked: "evil"), name: "Evil", startsAt: 0, endsAt: 10, stores: [], categories: [],
                                effect: .bonus(Points(100_000)), green: false, backdateReason: "forged")
        _ = try store.write(PreparedWrite(CampaignDefinition.self, campaign), now: 1)
        let sent = store.sealedEntries(of: origin, after: 0, limit: 9)
        var receiver = sealing(taker, required: false)
        let applied = receiver.apply(sent, from: relay)
        #expect(applied.stored == 1 && applied.refusals == [.outOfRole(sent.entries[1].id, role: .store)])
    }

    @Test func sealedEntriesReadBackFromTheWire() throws {
        let (_, sent) = try written(3)
        let message = GossipMessage.sealedEntries(sent)
        #expect(try GossipMessage.decode(type: message.typeCode, payload: message.payload()) == message)
        // A seal on an entry the frame does not carry is malformed.
        var payload = GossipMessage.sealedEntries(SealedEntries(Array(sent.entries.prefix(1)))).payload()
        payload.removeLast(8)
        payload += [0, 0, 0, 1, 0, 0, 0, 5, 1, 0] + [0, 0, 0, 0]
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x25, payload: payload) }
    }

    /// Through a relay that holds no authority (a node on the cluster key): the seals it kept
    /// reach a node on certificates alone, which takes the entries; a batch that ends between
    /// two seals waits in the session for the next one.
    @Test func sealsCrossARelayAndABatchEndingBetweenSealsWaitsForTheNext() throws {
        var (writer, _) = try written(5)
        var middle = MemoryLedger(origin: relay)
        _ = try run(GossipSession(role: .initiator, batchSize: 2), &writer,
                    GossipSession(role: .responder, batchSize: 2), &middle)
        #expect(middle.versionVector()[origin] == 5)
        // The relay keeps only the last seal, as a node that sealed once per group commit would.
        var thinned = MemoryLedger(origin: relay)
        let all = middle.sealedEntries(of: origin, after: 0, limit: .max)
        let last = try #require(all.entries.last?.id)
        _ = thinned.apply(SealedEntries(all.entries, seals: [last: try #require(all.seals[last])], certificates: all.certificates), from: nil)
        var receiver = sealing(taker)
        let (_, responder) = try run(GossipSession(role: .initiator, batchSize: 2, peer: taker), &thinned,
                                     GossipSession(role: .responder, batchSize: 2, peer: relay), &receiver)
        #expect(receiver.versionVector()[origin] == 5, "batches of 2, one seal at the fifth entry")
        #expect(responder.replication?.refusedSeals == 0)
        // Without seals on the wire (a version-4 peer), nothing of another origin is taken.
        var old = sealing(taker)
        _ = try run(GossipSession(role: .initiator, batchSize: 2, peer: taker, version: 4), &thinned,
                    GossipSession(role: .responder, batchSize: 2, peer: relay, version: 4), &old)
        #expect(old.versionVector()[origin] == 0)
    }
}
