import PointMeshCore
import PointMeshReplication
import Testing

private let n1 = NodeID(unchecked: "n1"), n2 = NodeID(unchecked: "n2"), n3 = NodeID(unchecked: "n3")

private func purchase(_ receipt: String, account: String = "alice", fen: Int64 = 1_000) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: account), amount: Fen(fen)))
}

@Suite struct ReplicationRuleTests {
    @Test func missingNamesExactlyTheRangesThePeerLacks() {
        let local = VersionVector([n1: 5, n2: 3, n3: 1])
        let remote = VersionVector([n1: 2, n2: 3])
        #expect(ReplicationRules.missing(local: local, remote: remote) == [
            OriginRange(origin: n1, first: 3, last: 5), OriginRange(origin: n3, first: 1, last: 1),
        ])
        #expect(ReplicationRules.missing(local: remote, remote: local).isEmpty)
    }

    @Test func onlyTheNextSequenceIsAdmitted() {
        #expect(ReplicationRules.admission(of: EntryID(origin: n1, sequence: 3), held: 3) == .alreadyHeld)
        #expect(ReplicationRules.admission(of: EntryID(origin: n1, sequence: 4), held: 3) == .next)
        #expect(ReplicationRules.admission(of: EntryID(origin: n1, sequence: 6), held: 3) == .gap)
    }

    /// The same receipt rung up at three stores: whatever order the copies arrive in, every
    /// ledger keeps all three, counts the same one, and the account earns once.
    @Test func duplicateReceiptsCollapseToOneWinnerInAnyArrivalOrder() throws {
        var stores = [MemoryLedger(origin: n1), MemoryLedger(origin: n2), MemoryLedger(origin: n3)]
        var copies: [LedgerEntry] = []
        for (index, now) in [(0, Int64(3_000)), (1, 1_000), (2, 2_000)] {
            guard case .append(let entry) = try stores[index].write(purchase("R1", fen: 10_000), now: now) else {
                Issue.record("expected a new entry")
                return
            }
            copies.append(entry)
        }
        let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        var results: [(AccountState, Set<EntryID>)] = []
        for order in orders {
            var replica = MemoryLedger(origin: NodeID(unchecked: "observer"))
            for index in order { _ = replica.apply([copies[index]]) }
            results.append((replica.accountState(of: AccountID(unchecked: "alice"), at: 1_000_000_000), replica.duplicates))
            #expect(try replica.countingEntry(for: copies[0].idempotencyKey)?.id == copies[1].id, "the earliest copy (n2, t=1000) counts")
        }
        for result in results {
            #expect(result.0 == AccountState(balance: Points(100), debt: .zero))
            #expect(result.0.pending == .zero)
            #expect(result.1 == [copies[0].id, copies[2].id])
        }
    }

    @Test func applyingTheSameEntriesTwiceChangesNothing() throws {
        var source = MemoryLedger(origin: n1)
        for index in 0..<5 { _ = try source.write(purchase("R\(index)"), now: Int64(index)) }
        var replica = MemoryLedger(origin: n2)
        let batch = source.entries(of: n1, after: 0, limit: 10)
        #expect(replica.apply(batch) == 5)
        #expect(replica.apply(batch) == 0)
        #expect(replica.apply(Array(batch.reversed())) == 0)
        #expect(replica.accountState(of: AccountID(unchecked: "alice"), at: 1_000_000_000) == source.accountState(of: AccountID(unchecked: "alice"), at: 1_000_000_000))
    }

    @Test func entriesAfterAGapWaitForTheMissingOnes() throws {
        var source = MemoryLedger(origin: n1)
        for index in 0..<4 { _ = try source.write(purchase("R\(index)"), now: Int64(index)) }
        var replica = MemoryLedger(origin: n2)
        #expect(replica.apply(source.entries(of: n1, after: 2, limit: 10)) == 0)
        #expect(replica.apply(source.entries(of: n1, after: 0, limit: 10)) == 4)
    }
}

@Suite struct FrameTests {
    private let entry = LedgerEntry(
        id: EntryID(origin: n1, sequence: 7), timestamp: HLCTimestamp(wallMilliseconds: 1_700_000_000_000, logical: 3), code: Earn.code,
        idempotencyKey: IdempotencyKey(scope: "receipt", id: "R-9"), requestHash: RequestHash(canonical: "x"),
        moves: Earn.moves(customer: AccountID(unchecked: "family:f1"), earned: Points(12), repaid: Points(2), store: n1)
            + [Move(debit: .issued(by: n1), credit: LedgerAccount(AccountID(unchecked: "bob")), amount: Points(5), phase: .pending),
               Move(debit: .issued(by: n1), credit: LedgerAccount(AccountID(unchecked: "bob")), amount: Points(5),
                    phase: .post(MoveRef(entry: EntryID(origin: n2, sequence: 3), index: 1)), userData: 77)],
        details: Earn.details(receipt: ReceiptID(unchecked: "R-9"), amount: Fen(1_234),
                              items: [PurchaseItem(sku: SKU(unchecked: "s1"), category: CategoryID(unchecked: "eco"), amount: Fen(1_234))],
                              balanceAfter: Points(40)))

    private var everyMessage: [GossipMessage] {
        [.hello(nonce: Array(repeating: 1, count: 32), versions: ProtocolVersions(2, 5)),
         .challenge(nonce: Array(repeating: 2, count: 32), version: 3, mac: Array(repeating: 3, count: 32)),
         .proof(mac: Array(repeating: 4, count: 32)), .identify(node: n1, address: "127.0.0.1:7070"), .refused(reason: "retired"),
         .summary(ledgerDigest: "abc", membershipDigest: "def"), .inSync,
         .state(vector: VersionVector([n1: 4, n2: 9]), members: [MemberRecord(id: n2, address: "h:1"), MemberRecord(id: n3, address: "h:2", retired: true)]),
         .entries([entry, entry]), .endOfEntries]
    }

    @Test func everyMessageRoundTripsWithAndWithoutAuthentication() throws {
        for authenticated in [false, true] {
            var sender = FrameCodec(role: .initiator), receiver = FrameCodec(role: .responder)
            if authenticated {
                sender.authenticate(with: Array(repeating: 9, count: 32))
                receiver.authenticate(with: Array(repeating: 9, count: 32))
            }
            for message in everyMessage {
                // Delivered one byte at a time, as a slow stream would.
                for byte in sender.encode(message) {
                    #expect(try receiver.next() == nil)
                    receiver.append([byte])
                }
                #expect(try receiver.next() == message)
            }
        }
    }

    @Test func oversizedUnknownVersionAndTamperedFramesAreRejected() throws {
        var codec = FrameCodec(role: .responder)
        codec.append([0x7f, 0xff, 0xff, 0xff])
        #expect(throws: FrameCodec.FrameError.tooLarge(0x7fff_ffff)) { try codec.next() }

        var sender = FrameCodec(role: .initiator)
        var frame = sender.encode(.inSync)
        frame[4] = 9
        var receiver = FrameCodec(role: .responder)
        receiver.append(frame)
        #expect(throws: FrameCodec.FrameError.unsupportedVersion(9)) { try receiver.next() }

        var macSender = FrameCodec(role: .initiator), macReceiver = FrameCodec(role: .responder)
        macSender.authenticate(with: Array(repeating: 1, count: 32))
        macReceiver.authenticate(with: Array(repeating: 1, count: 32))
        var tampered = macSender.encode(.summary(ledgerDigest: "a", membershipDigest: "b"))
        tampered[8] ^= 1
        macReceiver.append(tampered)
        #expect(throws: FrameCodec.FrameError.badMAC) { try macReceiver.next() }

        // A frame reflected back to its sender does not verify (direction is in the MAC).
        var reflected = FrameCodec(role: .initiator)
        reflected.authenticate(with: Array(repeating: 1, count: 32))
        var own = FrameCodec(role: .initiator)
        own.authenticate(with: Array(repeating: 1, count: 32))
        reflected.append(own.encode(.inSync))
        #expect(throws: FrameCodec.FrameError.badMAC) { try reflected.next() }
    }

    @Test func trailingBytesAndBadFieldsAreMalformed() {
        var writer = BinaryWriter()
        writer.u32(3)
        writer.raw([FrameCodec.handshakeVersion, 0x21, 0xAA])
        var codec = FrameCodec(role: .responder)
        codec.append(writer.bytes)
        #expect(throws: FrameCodec.FrameError.self) { try codec.next() }

        var badID = BinaryWriter()
        badID.string("not an id!")
        badID.string("x")
        var frame = BinaryWriter()
        frame.u32(UInt32(2 + badID.bytes.count))
        frame.raw([FrameCodec.handshakeVersion, 0x10] + badID.bytes)
        var second = FrameCodec(role: .responder)
        second.append(frame.bytes)
        #expect(throws: FrameCodec.FrameError.self) { try second.next() }
    }

    /// Random bytes never crash the decoder: each buffer decodes, waits for more, or fails.
    @Test(arguments: 0..<20)
    func randomGarbageNeverCrashesTheDecoder(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        for _ in 0..<200 {
            var codec = FrameCodec(role: .responder)
            let length = Int(random.next() % 64)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if random.next() % 2 == 0, bytes.count >= 6 {
                // A plausible header, so the payload decoders see the garbage too.
                bytes[0] = 0; bytes[1] = 0; bytes[2] = 0; bytes[3] = UInt8(bytes.count - 4)
                bytes[4] = FrameCodec.handshakeVersion
                bytes[5] = [0x01, 0x10, 0x20, 0x22, 0x23][Int(random.next() % 5)]
            }
            codec.append(bytes)
            // A frame, a wait for more bytes, or a frame error: never another error, never a crash.
            do {
                let frame = try codec.next()
                if bytes.count < 4 { #expect(frame == nil, "fewer bytes than a length prefix can't be a frame") }
            } catch is FrameCodec.FrameError {
            } catch {
                Issue.record("seed \(seed): \(bytes) failed with \(error), not a frame error")
            }
        }
    }
}

@Suite struct HandshakeTests {
    private func run(initiatorKey: ClusterKey, responderKey: ClusterKey) -> (Handshake, Handshake, (any Error)?) {
        var initiator = Handshake(role: .initiator, key: initiatorKey, nonce: Array(repeating: 1, count: 32))
        var responder = Handshake(role: .responder, key: responderKey, nonce: Array(repeating: 2, count: 32))
        do {
            let challenge = try responder.receive(initiator.hello())
            let proof = try initiator.receive(try #require(challenge))
            _ = try responder.receive(try #require(proof))
            return (initiator, responder, nil)
        } catch {
            return (initiator, responder, error)
        }
    }

    @Test func peersWithTheKeyAgreeOnASessionKey() {
        let key = ClusterKey(bytes: Array("a cluster key of some length".utf8))
        let (initiator, responder, error) = run(initiatorKey: key, responderKey: key)
        #expect(error == nil)
        #expect(initiator.sessionKey != nil && initiator.sessionKey == responder.sessionKey)
    }

    @Test func aPeerWithAnotherKeyIsRefusedAndLearnsNoSessionKey() {
        let (initiator, responder, error) = run(initiatorKey: ClusterKey(bytes: Array("right key right key".utf8)), responderKey: ClusterKey(bytes: Array("wrong key wrong key".utf8)))
        #expect((error as? Handshake.Failure) == .badProof)
        #expect(initiator.sessionKey == nil && responder.sessionKey == nil)
    }

    @Test func aResponderRefusesAForgedProof() throws {
        var responder = Handshake(role: .responder, key: ClusterKey(bytes: Array("k".utf8)), nonce: Array(repeating: 2, count: 32))
        _ = try responder.receive(.hello(nonce: Array(repeating: 7, count: 32), versions: .supported))
        #expect(throws: Handshake.Failure.badProof) { try responder.receive(.proof(mac: Array(repeating: 0, count: 32))) }
        #expect(throws: Handshake.Failure.self) { try responder.receive(.inSync) }
    }
}

@Suite struct ProtocolVersionTests {
    private let key = ClusterKey(bytes: Array("a cluster key of some length".utf8))

    private func handshake(_ initiatorVersions: ProtocolVersions, _ responderVersions: ProtocolVersions) throws -> (UInt8?, UInt8?) {
        var initiator = Handshake(role: .initiator, key: key, nonce: Array(repeating: 1, count: 32), versions: initiatorVersions)
        var responder = Handshake(role: .responder, key: key, nonce: Array(repeating: 2, count: 32), versions: responderVersions)
        let challenge = try responder.receive(initiator.hello())
        let proof = try initiator.receive(try #require(challenge))
        _ = try responder.receive(try #require(proof))
        return (initiator.version, responder.version)
    }

    /// Two nodes speak the highest version both know, so a chain can upgrade one store at a time.
    @Test func theHighestCommonVersionIsChosen() throws {
        #expect(try handshake(ProtocolVersions(2, 2), ProtocolVersions(2, 2)) == (2, 2))
        #expect(try handshake(ProtocolVersions(2, 3), ProtocolVersions(2, 2)) == (2, 2))
        #expect(try handshake(ProtocolVersions(2, 2), ProtocolVersions(2, 4)) == (2, 2))
        #expect(try handshake(ProtocolVersions(2, 5), ProtocolVersions(3, 4)) == (4, 4))
    }

    @Test func noCommonVersionIsRefusedSayingBoth() {
        #expect(throws: Handshake.Failure.noCommonVersion(ours: ProtocolVersions(4, 5), theirs: ProtocolVersions(2, 3))) {
            try handshake(ProtocolVersions(2, 3), ProtocolVersions(4, 5))
        }
    }

    /// A man in the middle can't talk the peers down to an older version: the MACs cover it.
    @Test func aTamperedVersionFailsAuthentication() throws {
        var initiator = Handshake(role: .initiator, key: key, nonce: Array(repeating: 1, count: 32), versions: ProtocolVersions(2, 3))
        var responder = Handshake(role: .responder, key: key, nonce: Array(repeating: 2, count: 32), versions: ProtocolVersions(2, 3))
        guard case .challenge(let nonce, _, let mac) = try #require(try responder.receive(initiator.hello())) else {
            Issue.record("expected a challenge")
            return
        }
        #expect(throws: Handshake.Failure.badProof) { try initiator.receive(.challenge(nonce: nonce, version: 2, mac: mac)) }
    }

    /// A node of release 0.2 opens with a version-1 frame: refused at once, before anything else.
    @Test func aVersion1FrameIsRefusedAtTheFirstFrame() {
        var writer = BinaryWriter()
        writer.u32(2 + 32)
        writer.raw([1, 0x01] + Array(repeating: 5, count: 32))
        var codec = FrameCodec(role: .responder)
        codec.append(writer.bytes)
        #expect(throws: FrameCodec.FrameError.unsupportedVersion(1)) { try codec.next() }
    }
}

@Suite struct MembershipTests {
    @Test func failuresMakeAPeerSuspectThenDownWithGrowingBackoff() {
        var membership = Membership(local: n1, localAddress: "a:1")
        membership.learn(n2, address: "a:2", now: 0)
        let target = Membership.Target(id: n2, address: "a:2")
        membership.failed(target, now: 0)
        #expect(membership.peers[n2]?.state == .suspect)
        #expect(membership.peers[n2]?.nextAttempt == 1_000)
        membership.failed(target, now: 1_000)
        membership.failed(target, now: 3_000)
        #expect(membership.peers[n2]?.state == .down)
        #expect(membership.peers[n2]?.nextAttempt == 7_000)
        var random = SplitMix64(seed: 1)
        #expect(membership.targets(now: 6_999, fanout: 3, using: &random).isEmpty)
        #expect(membership.targets(now: 7_000, fanout: 3, using: &random).map(\.id) == [n2])
        membership.succeeded(target, peerVector: VersionVector([n2: 1]), now: 7_000)
        #expect(membership.peers[n2]?.state == .alive)
    }

    @Test func membersSpreadAndRetirementIsPermanent() {
        var a = Membership(local: n1, localAddress: "a:1", seeds: ["a:2"])
        var b = Membership(local: n2, localAddress: "a:2")
        b.learn(n3, address: "a:3", now: 0)
        a.merge(b.records, now: 0)
        #expect(Set(a.peers.keys) == [n2, n3])
        #expect(a.seeds.isEmpty)
        b.retire(n3, address: "a:3")
        a.merge(b.records, now: 0)
        #expect(a.peers[n3] == nil && a.isRetired(n3))
        a.learn(n3, address: "a:3", now: 1)
        a.merge([MemberRecord(id: n3, address: "a:3")], now: 1)
        #expect(a.peers[n3] == nil)
        #expect(a.records.contains(MemberRecord(id: n3, address: "a:3", retired: true)))
    }

    @Test func unidentifiedSeedsAreTargetedUntilTheyAnswer() {
        let membership = Membership(local: n1, localAddress: "a:1", seeds: ["a:9", "a:1"])
        var random = SplitMix64(seed: 3)
        #expect(membership.targets(now: 0, fanout: 2, using: &random) == [Membership.Target(id: nil, address: "a:9")])
    }
}

@Suite struct SessionTests {
    /// Drives two sessions against each other directly, counting bytes as frames would be.
    private func exchange(_ a: inout MemoryLedger, _ b: inout MemoryLedger, batch: Int = 3,
                          exchanges: [GossipExchangeName] = [.replication]) throws -> (bytes: Int, messages: Int) {
        var ma = Membership(local: a.origin, localAddress: "a"), mb = Membership(local: b.origin, localAddress: "b")
        ma.learn(b.origin, address: "b", now: 0)
        mb.learn(a.origin, address: "a", now: 0)
        var initiator = GossipSession(role: .initiator, exchanges: exchanges, batchSize: batch)
        var responder = GossipSession(role: .responder, exchanges: exchanges, batchSize: batch)
        var toResponder = try initiator.run(.start, store: &a, membership: &ma, now: 0)
        var toInitiator: [GossipMessage] = []
        var bytes = 0, messages = 0
        while !toResponder.isEmpty || !toInitiator.isEmpty {
            for message in toResponder {
                #expect(message.payload().count + 38 < FrameCodec.maximumFrameBytes, "a frame the peer would refuse")
                bytes += message.payload().count + 38
                messages += 1
                toInitiator += try responder.run(.received(message), store: &b, membership: &mb, now: 0)
            }
            toResponder = []
            for message in toInitiator {
                #expect(message.payload().count + 38 < FrameCodec.maximumFrameBytes, "a frame the peer would refuse")
                bytes += message.payload().count + 38
                messages += 1
                toResponder += try initiator.run(.received(message), store: &a, membership: &ma, now: 0)
            }
            toInitiator = []
        }
        #expect(initiator.isFinished && responder.isFinished)
        return (bytes, messages)
    }

    @Test func oneExchangeGivesBothSidesEverything() throws {
        var a = MemoryLedger(origin: n1), b = MemoryLedger(origin: n2)
        for index in 0..<10 { _ = try a.write(purchase("A\(index)"), now: Int64(index)) }
        for index in 0..<7 { _ = try b.write(purchase("B\(index)", account: "bob"), now: Int64(index)) }
        _ = try exchange(&a, &b)
        #expect(a.versionVector() == b.versionVector())
        #expect(a.versionVector() == VersionVector([n1: 10, n2: 7]))
        #expect(b.accountState(of: AccountID(unchecked: "alice"), at: 1_000_000_000) == a.accountState(of: AccountID(unchecked: "alice"), at: 1_000_000_000))
    }

    @Test func nodesInSyncExchangeAConstantSmallAmount() throws {
        var a = MemoryLedger(origin: n1), b = MemoryLedger(origin: n2)
        for index in 0..<50 { _ = try a.write(purchase("A\(index)"), now: Int64(index)) }
        _ = try exchange(&a, &b, batch: 10)
        let small = try exchange(&a, &b)
        for index in 50..<500 { _ = try a.write(purchase("A\(index)"), now: Int64(index)) }
        _ = try exchange(&a, &b, batch: 100)
        let large = try exchange(&a, &b)
        #expect(small.messages == 2 && large.messages == 2)
        #expect(small.bytes == large.bytes)
        #expect(small.bytes < 300)
    }

    /// Receipts with many long item lines are sent in batches that stay inside one frame, so a
    /// run of them never makes a frame the peer must refuse.
    @Test func largeEntriesAreSentInFramesThePeerAccepts() throws {
        var a = MemoryLedger(origin: n1), b = MemoryLedger(origin: n2)
        let longID = String(repeating: "x", count: 120)
        let items = (0..<1_000).map { PurchaseItem(sku: SKU(unchecked: "\(longID)\($0)"), category: CategoryID(unchecked: longID), amount: Fen(100)) }
        for index in 0..<40 {
            _ = try a.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "BIG\(index)"), account: AccountID(unchecked: "alice"),
                                                                  amount: Fen(100_000), items: items)), now: Int64(index))
        }
        _ = try exchange(&a, &b, batch: 1_000)
        #expect(b.versionVector() == a.versionVector())
    }

    @Test func outOfTurnMessagesAbortTheSession() {
        var session = GossipSession(role: .responder)
        var store = MemoryLedger(origin: n1)
        var membership = Membership(local: n1, localAddress: "a")
        #expect(throws: GossipProtocolError.self) { try session.run(.received(.endOfEntries), store: &store, membership: &membership, now: 0) }
    }
}
