import PointMeshReplication
@testable import PointMeshCore
import Testing

private let holder = NodeID(unchecked: "h1"), asker = NodeID(unchecked: "k1")
private let ann = AccountID(unchecked: "ann"), bob = AccountID(unchecked: "bob")

private func purchase(_ receipt: String, _ account: AccountID = ann) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(10_000), items: []))
}

/// A session from `a` (asking for `wanted`) to `b`, each knowing who the other is; both ends.
private func rightsSession(_ a: inout MemoryLedger, _ b: inout MemoryLedger, wanted: [RightsWanted],
                           exchanges: [GossipExchangeName] = [.spendingRights, .replication],
                           version: UInt8 = ProtocolVersions.supported.highest) throws -> (GossipSession, GossipSession) {
    try run(GossipSession(role: .initiator, exchanges: exchanges, peer: b.origin, rightsWanted: wanted, version: version), &a,
            GossipSession(role: .responder, exchanges: exchanges, peer: a.origin, version: version), &b, now: 5_000)
}

@Suite struct RightsExchangeTests {
    @Test func aHolderGrantsWhatItHoldsAndTheAskerStoresTheGrant() throws {
        var a = MemoryLedger(origin: asker), b = MemoryLedger(origin: holder)
        _ = try b.write(purchase("R1"), now: 1_000)
        _ = a.apply(b.allEntries)
        let (initiator, responder) = try rightsSession(&a, &b, wanted: [RightsWanted(account: ann, request: RequestID(unchecked: "q1")),
                                                                        RightsWanted(account: bob, request: RequestID(unchecked: "q2"))])
        #expect(initiator.completed == [.spendingRights, .replication] && responder.isFinished)
        #expect(responder.rights?.grantsWritten == 1, "bob has no lots at the holder: no grant")
        #expect(initiator.rights?.grantsReceived == 1 && initiator.rights?.grantsStored == 1)
        #expect(a.lotBook(of: ann).rights(of: asker, at: 6_000) == HeldRights(points: Points(100)))
        #expect(b.lotBook(of: ann).rights(of: holder, at: 6_000) == HeldRights())
    }

    /// A grant the asker can't store yet (it lacks the holder's earlier entries) reaches it by
    /// the replication that follows in the same session.
    @Test func aGrantAfterAGapArrivesByReplication() throws {
        var a = MemoryLedger(origin: asker), b = MemoryLedger(origin: holder)
        _ = try b.write(purchase("R1"), now: 1_000)
        let (initiator, _) = try rightsSession(&a, &b, wanted: [RightsWanted(account: ann, request: RequestID(unchecked: "q1"))])
        #expect(initiator.rights?.grantsReceived == 1 && initiator.rights?.grantsStored == 0)
        #expect(a.lotBook(of: ann).rights(of: asker, at: 6_000).points == Points(100))
    }

    /// Before version 6 an initiator with nothing to ask still runs the exchange.
    @Test func nothingAskedIsOneEmptyRoundTripBeforeVersion6() throws {
        var a = MemoryLedger(origin: asker), b = MemoryLedger(origin: holder)
        _ = try b.write(purchase("R1"), now: 1_000)
        let (initiator, responder) = try rightsSession(&a, &b, wanted: [], exchanges: [.spendingRights], version: ProtocolVersions.sealing)
        #expect(initiator.isFinished && responder.isFinished && initiator.rights?.grantsReceived == 0)
        #expect(initiator.completed == [.spendingRights])
        #expect(b.allEntries.count == 1, "nothing was granted")
    }

    /// From version 6 it leaves the exchange out, and the responder moves on to replication.
    @Test func nothingAskedLeavesTheExchangeOutFromVersion6() throws {
        var a = MemoryLedger(origin: asker), b = MemoryLedger(origin: holder)
        _ = try b.write(purchase("R1"), now: 1_000)
        let (initiator, responder) = try rightsSession(&a, &b, wanted: [])
        #expect(initiator.completed == [.replication] && responder.completed == [.replication])
        #expect(initiator.rights == nil && responder.rights == nil)
        #expect(a.allEntries.count == 1, "replication ran")
        // Asked for something, the same pair runs the exchange.
        let (asked, _) = try rightsSession(&a, &b, wanted: [RightsWanted(account: ann, request: RequestID(unchecked: "q1"))])
        #expect(asked.completed == [.spendingRights, .replication])
    }

    @Test func aResponderThatDoesNotKnowItsPeerGrantsNothing() throws {
        var exchange = RightsExchange(role: .responder)
        let directives = try exchange.handle(.received(.rightsRequest([RightsWanted(account: ann, request: RequestID(unchecked: "q"))])))
        #expect(directives == [.send(.rightsGrants([])), .finished])
    }

    @Test func grantsNotAskedForAbortTheSession() throws {
        var b = MemoryLedger(origin: holder)
        _ = try b.write(purchase("R1"), now: 1_000)
        let grant = try #require(b.allEntries.first)
        var exchange = RightsExchange(role: .initiator, wanted: [])
        _ = try exchange.handle(.start)
        #expect(throws: GossipProtocolError.self) { try exchange.handle(.received(.rightsGrants([grant]))) }
        var waiting = RightsExchange(role: .initiator, wanted: [RightsWanted(account: ann, request: RequestID(unchecked: "q"))])
        _ = try waiting.handle(.start)
        #expect(throws: GossipProtocolError.timedOut) { try waiting.handle(.timerFired) }
    }

    @Test func requestsReadBackAndTooManyAreRefused() throws {
        let message = GossipMessage.rightsRequest([RightsWanted(account: ann, request: RequestID(unchecked: "q1"))])
        #expect(try GossipMessage.decode(type: message.typeCode, payload: message.payload()) == message)
        let tooMany = GossipMessage.rightsRequest(Array(repeating: RightsWanted(account: ann, request: RequestID(unchecked: "q")),
                                                        count: RightsWanted.maximumPerRequest + 1))
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: tooMany.typeCode, payload: tooMany.payload()) }
    }
}

@Suite struct RightsDemandTests {
    @Test func anAccountIsAskedOfEachHolderOnceUntilSettled() {
        var demand = RightsDemand(node: asker, prefix: "p")
        #expect(demand.want(ann, from: [holder, asker], now: 0) == [holder], "a node never asks itself")
        #expect(demand.want(ann, from: [holder], now: 10).isEmpty, "already asked")
        let first = demand.wanted(from: holder), again = demand.wanted(from: holder)
        #expect(first.map(\.subject) == [.account(ann)] && first.map(\.request) != again.map(\.request), "each carrying has a request id of its own")
        demand.settle(first, by: holder)
        #expect(!demand.wants(from: holder) && demand.want(ann, from: [holder], now: 20) == [holder])
    }

    @Test func unsettledWantsExpire() {
        var demand = RightsDemand(node: asker, prefix: "p")
        _ = demand.want(ann, from: [holder], now: 0)
        demand.expire(now: RightsDemand.lifetime - 1)
        #expect(demand.wants(from: holder))
        demand.expire(now: RightsDemand.lifetime)
        #expect(!demand.wants(from: holder) && demand.holders.isEmpty)
    }
}
