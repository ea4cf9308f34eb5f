import PointMeshReplication
@testable import PointMeshCore
import Synchronization
import Testing

private let a1 = NodeID(unchecked: "a1"), b1 = NodeID(unchecked: "b1")

private func purchase(_ receipt: String) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: "ann"), amount: Fen(10_000), items: []))
}

/// Runs a whole session between two ledgers; returns both ends.
private func session(_ a: inout some ReplicaStore, _ b: inout some ReplicaStore, exchanges: [GossipExchangeName]) throws -> (GossipSession, GossipSession) {
    try run(GossipSession(role: .initiator, exchanges: exchanges, batchSize: 2), &a, GossipSession(role: .responder, exchanges: exchanges, batchSize: 2), &b)
}

/// Runs `initiator` on `a` and `responder` on `b` until neither has anything to send; returns
/// both ends.
func run(_ initiator: GossipSession, _ a: inout some ReplicaStore, _ responder: GossipSession, _ b: inout some ReplicaStore,
         now: Int64 = 0) throws -> (GossipSession, GossipSession) {
    var ma = Membership(local: NodeID(unchecked: "a"), localAddress: "a"), mb = Membership(local: NodeID(unchecked: "b"), localAddress: "b")
    let (initiator, responder, _) = try run(initiator, &a, &ma, responder, &b, &mb, now: now)
    return (initiator, responder)
}

/// Runs a session between two nodes with the memberships given; returns the sessions and every
/// message sent, in order.
func run(_ initiator: GossipSession, _ a: inout some ReplicaStore, _ ma: inout Membership,
         _ responder: GossipSession, _ b: inout some ReplicaStore, _ mb: inout Membership,
         now: Int64 = 0) throws -> (GossipSession, GossipSession, [GossipMessage]) {
    var (initiator, responder) = (initiator, responder)
    var toResponder = try initiator.run(.start, store: &a, membership: &ma, now: now)
    var transcript = toResponder
    while !toResponder.isEmpty {
        var toInitiator: [GossipMessage] = []
        for message in toResponder { toInitiator += try responder.run(.received(message), store: &b, membership: &mb, now: now) }
        transcript += toInitiator
        toResponder = []
        for message in toInitiator { toResponder += try initiator.run(.received(message), store: &a, membership: &ma, now: now) }
        transcript += toResponder
    }
    return (initiator, responder, transcript)
}

/// A ledger that counts how often its digest is read (it reads every origin's chain).
private struct DigestCountingStore: ReplicaStore {
    final class Count: Sendable {
        let value = Mutex(0)
    }

    var ledger: MemoryLedger
    let reads = Count()

    func versionVector() throws -> VersionVector { ledger.versionVector() }
    func ledgerDigest() throws -> String {
        reads.value.withLock { $0 += 1 }
        return ledger.ledgerDigest()
    }
    func sealedEntries(of origin: NodeID, after: Int64, limit: Int) throws -> SealedEntries { ledger.sealedEntries(of: origin, after: after, limit: limit) }
    mutating func apply(_ batch: SealedEntries, from sender: NodeID?) throws -> AppliedEntries { ledger.apply(batch, from: sender) }
    mutating func grantRights(_ wanted: [RightsWanted], to receiver: NodeID, at instant: Int64) throws -> [LedgerEntry] {
        try ledger.grantRights(wanted, to: receiver, at: instant)
    }
    func check(_ report: HoldingsReport, of origin: NodeID) throws -> ReportSealCheck.Verdict { ledger.check(report, of: origin) }
}

@Suite struct GossipExchangeTests {
    /// Only the comparison of digests reads one: the initiator's summary and the responder's
    /// check, not every later look at the local state.
    @Test func aSessionReadsEachSidesDigestOnce() throws {
        var writer = MemoryLedger(origin: a1)
        for index in 0..<3 { _ = try writer.write(purchase("A\(index)"), now: Int64(index)) }
        var a = DigestCountingStore(ledger: writer), b = DigestCountingStore(ledger: MemoryLedger(origin: b1))
        let (initiator, responder) = try session(&a, &b, exchanges: [.replication])
        #expect(initiator.completed == [.replication] && responder.completed == [.replication])
        #expect(b.ledger.versionVector() == VersionVector([a1: 3]))
        #expect(a.reads.value.withLock { $0 } == 1 && b.reads.value.withLock { $0 } == 1)
    }

    @Test func theSessionRunsTheExchangesBothSpeakInTheInitiatorsOrder() {
        let both = GossipExchangeName.agreement(initiator: ["probe", "replication"], responder: ["replication", "probe"])
        #expect(both.agreed == [.probe, .replication] && both.skipped.isEmpty)
        let oneSide = GossipExchangeName.agreement(initiator: ["replication", "probe"], responder: ["replication"])
        #expect(oneSide.agreed == [.replication] && oneSide.skipped == ["probe"])
        // A newer release's exchange is skipped too, whichever side offers it.
        let newer = GossipExchangeName.agreement(initiator: ["replication"], responder: ["regions", "replication", "probe"])
        #expect(newer.agreed == [.replication] && newer.skipped == ["regions", "probe"])
        #expect(GossipExchangeName.agreement(initiator: ["probe"], responder: ["replication"]).agreed.isEmpty)
    }

    @Test func anExchangeBothSpeakRunsBesideReplication() throws {
        var a = MemoryLedger(origin: a1), b = MemoryLedger(origin: b1)
        for index in 0..<5 { _ = try a.write(purchase("A\(index)"), now: Int64(index)) }
        _ = try b.write(purchase("B0"), now: 1)
        let (initiator, responder) = try session(&a, &b, exchanges: [.replication, .probe])
        #expect(initiator.isFinished && responder.isFinished)
        #expect(initiator.completed == [.replication, .probe] && responder.completed == [.replication, .probe])
        #expect(a.versionVector() == b.versionVector() && a.versionVector() == VersionVector([a1: 5, b1: 1]))
        // The other order: the probe first, then replication, all the same.
        var c = MemoryLedger(origin: NodeID(unchecked: "c1"))
        let (first, _) = try session(&c, &a, exchanges: [.probe, .replication])
        #expect(first.completed == [.probe, .replication] && c.versionVector() == a.versionVector())
    }

    /// What a node speaking the probe and one that does not agree on is replication alone,
    /// and the session does all of it.
    @Test func anExchangeOneSideDoesNotSpeakIsSkippedAndReplicationStillRuns() throws {
        var a = MemoryLedger(origin: a1), b = MemoryLedger(origin: b1)
        for index in 0..<3 { _ = try a.write(purchase("A\(index)"), now: Int64(index)) }
        let agreed = GossipExchangeName.agreement(initiator: ["replication", "probe"], responder: ["replication"]).agreed
        let (initiator, responder) = try session(&a, &b, exchanges: agreed)
        #expect(initiator.completed == [.replication] && responder.completed == [.replication])
        #expect(b.versionVector() == VersionVector([a1: 3]))
        // An empty agreement is a session that ends at once, on both sides.
        var empty = GossipSession(role: .initiator, exchanges: [])
        #expect(try empty.handle(.start) == [.finished])
        #expect(GossipSession(role: .responder, exchanges: []).isFinished)
    }

    @Test func aProbeOutOfItsExchangeAbortsTheSession() {
        var session = GossipSession(role: .responder, exchanges: [.replication])
        #expect(throws: GossipProtocolError.unexpected("probe while awaiting summary")) { try session.handle(.received(.probe(token: "x"))) }
        var waiting = GossipSession(role: .responder, exchanges: [.replication])
        #expect(throws: GossipProtocolError.timedOut) { try waiting.handle(.timerFired) }
    }

    @Test func introduceReadsBackAndRefusesWhatIsTooLarge() throws {
        let message = GossipMessage.introduce(node: a1, address: "127.0.0.1:7070", exchanges: ["replication", "probe"])
        #expect(try GossipMessage.decode(type: message.typeCode, payload: message.payload()) == message)
        let tooMany = GossipMessage.introduce(node: a1, address: "x", exchanges: Array(repeating: "replication", count: GossipMessage.maximumExchanges + 1))
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: tooMany.typeCode, payload: tooMany.payload()) }
        let tooLong = GossipMessage.introduce(node: a1, address: "x", exchanges: [String(repeating: "n", count: GossipMessage.maximumExchangeNameBytes + 1)])
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: tooLong.typeCode, payload: tooLong.payload()) }
        let empty = GossipMessage.introduce(node: a1, address: "x", exchanges: [""])
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: empty.typeCode, payload: empty.payload()) }
    }
}
