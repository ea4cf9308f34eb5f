import PointMeshReplication
@testable import PointMeshCore
import Testing

private let hq = NodeID(unchecked: "hq"), s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2")
private let ann = AccountID(unchecked: "ann")
private let month = CalendarMonth(containing: 1_000)
private let underRights = NodeSettings(spendingRights: true)

/// A purchase of `fen` (one point a yuan) by ann, optionally overriding the budget.
private func purchase(_ receipt: String, fen: Int64, override: String? = nil) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: ann, amount: Fen(fen), budgetOverride: override))
}

private func chainBudget(_ points: Int64) -> PreparedWrite {
    PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .chain, points: Points(points)))
}

private func issuanceGrant(to receiver: NodeID, _ points: Int64, request: String) -> PreparedWrite {
    PreparedWrite(IssuanceGrant.self, IssuanceGrant.Request(month: month, receiver: receiver, points: Points(points), request: RequestID(unchecked: request)))
}

@Suite struct RightsToIssueArithmetic {
    @Test func theSetterHoldsTheBudgetAndEveryGrantAndIssuanceMovesIt() {
        var rights = RightsToIssue(month: month, budget: Points(1_000), setter: hq)
        #expect(rights.held(by: hq) == Points(1_000) && rights.held(by: s1) == .zero)
        rights.moved = [hq: Points(-400), s1: Points(300), s2: Points(100)]
        rights.issued = [s1: Points(250), s2: Points(130)]
        #expect(rights.holdings == [hq: Points(600), s1: Points(50), s2: Points(-30)], "an override takes a holding below zero")
        #expect(rights.holdings.values.reduce(.zero, +) == Points(1_000 - 380), "what the nodes hold sums to the budget less what was issued")
        #expect(rights.holders(otherThan: s1) == [hq], "the setter first; a node owing rights is asked for none")
        #expect(rights.holders(otherThan: hq) == [s1])
    }

    @Test func theSetterHandsWhatIsAskedAndAStoreAtMostHalfOfWhatItHolds() {
        let rights = RightsToIssue(month: month, budget: Points(1_000), setter: hq, moved: [hq: Points(-900), s1: Points(900)])
        #expect(rights.grantable(by: hq, asked: Points(50)) == Points(50))
        #expect(rights.grantable(by: hq, asked: Points(500)) == Points(100), "never more than it holds")
        #expect(rights.grantable(by: s1, asked: Points(800)) == Points(450), "a store keeps half for its own tills")
        #expect(rights.grantable(by: s2, asked: Points(10)) == .zero)
    }

    @Test func aStoreAsksForAnEvenShareAndAsksAheadBelowAQuarterOfIt() {
        var rights = RightsToIssue(month: month, budget: Points(1_000), setter: hq, moved: [hq: Points(-250), s1: Points(250)])
        #expect(rights.share(among: 4) == Points(250))
        #expect(rights.wanted(needing: Points(30), among: 4) == Points(250) && rights.wanted(needing: Points(400), among: 4) == Points(400))
        #expect(!rights.runsLow(s1, among: 4))
        rights.issued = [s1: Points(190)]
        #expect(rights.runsLow(s1, among: 4) && !rights.runsLow(hq, among: 4), "under a quarter of a share; the setter never asks")
    }
}

@Suite struct ChainBudgetAsRightsToIssue {
    /// A store holding none of the chain budget is refused under rights (its view of the
    /// chain's issuance doesn't matter), until the setter hands it some.
    @Test func aStoreIssuesOnlyTheRightsItHolds() throws {
        var headquarters = MemoryLedger(origin: hq), store = MemoryLedger(origin: s1)
        _ = try headquarters.write(chainBudget(1_000), now: 1_000)
        _ = store.apply(headquarters.allEntries)
        #expect(throws: LedgerError.budgetExhausted(scope: .chain, month: month, left: .zero, requested: Points(100), held: true)) {
            try store.write(purchase("R1", fen: 10_000), now: 2_000, settings: underRights)
        }
        _ = try store.write(purchase("R1", fen: 10_000), now: 2_000)
        _ = try headquarters.write(issuanceGrant(to: s1, 300, request: "q1"), now: 3_000)
        _ = store.apply(headquarters.allEntries)
        #expect(try store.rightsToIssue(heldBy: s1, in: month) == Points(200), "granted 300, issued 100 before, without rights")
        _ = try store.write(purchase("R2", fen: 20_000), now: 4_000, settings: underRights)
        #expect(throws: LedgerError.budgetExhausted(scope: .chain, month: month, left: .zero, requested: Points(1), held: true)) {
            try store.write(purchase("R3", fen: 100), now: 5_000, settings: underRights)
        }
        _ = try store.write(purchase("R3", fen: 5_000, override: "opening day"), now: 5_000, settings: underRights)
        let rights = try #require(try store.rightsToIssue(in: month))
        #expect(rights.held(by: s1) == Points(-50) && rights.held(by: hq) == Points(700), "the override is recorded as rights owed")
        #expect(rights.holdings.values.reduce(.zero, +) == Points(1_000) - (try store.issued(by: nil, in: month)))
    }

    @Test func aGrantIsWrittenOnlyByANodeWithRightsToHandOn() throws {
        var headquarters = MemoryLedger(origin: hq), store = MemoryLedger(origin: s1)
        #expect(throws: LedgerError.noRightsToIssueHeld(month)) { try headquarters.write(issuanceGrant(to: s1, 10, request: "q0"), now: 1_000) }
        _ = try headquarters.write(chainBudget(100), now: 1_000)
        _ = store.apply(headquarters.allEntries)
        #expect(throws: LedgerError.noRightsToIssueHeld(month)) { try store.write(issuanceGrant(to: hq, 10, request: "q1"), now: 2_000) }
        #expect {
            try headquarters.write(issuanceGrant(to: hq, 10, request: "q2"), now: 2_000)
        } throws: { error in
            guard case LedgerError.fieldNotApplicable(field: "receiver", _) = error else { return false }
            return true
        }
        guard case .append(let grant) = try headquarters.write(issuanceGrant(to: s1, 500, request: "q3"), now: 2_000) else {
            Issue.record("not written")
            return
        }
        #expect(try IssuanceGrant.granted(grant) == (month, s1, Points(100)))
        guard case .replay = try headquarters.write(issuanceGrant(to: s1, 500, request: "q3"), now: 3_000) else {
            Issue.record("one request is granted once")
            return
        }
    }

    /// Without spending rights a chain budget is checked as before: against the chain's
    /// issuance as this node has heard of it.
    @Test func withoutRightsTheChainBudgetIsTheChainsIssuanceHeardOf() throws {
        var store = MemoryLedger(origin: s1)
        _ = try store.write(chainBudget(150), now: 1_000)
        _ = try store.write(purchase("R1", fen: 10_000), now: 2_000)
        #expect(throws: LedgerError.budgetExhausted(scope: .chain, month: month, left: Points(50), requested: Points(60))) {
            try store.write(purchase("R2", fen: 6_000), now: 3_000)
        }
    }
}

@Suite struct RightsToIssueExchange {
    @Test func aStoreAsksTheSetterAndHoldsTheGrantBeforeTheSessionEnds() throws {
        var store = MemoryLedger(origin: s1), headquarters = MemoryLedger(origin: hq)
        _ = try headquarters.write(chainBudget(1_000), now: 1_000)
        let wanted = [RightsWanted(.issuing(month, Points(400)), request: RequestID(unchecked: "q1"))]
        let (initiator, responder) = try run(GossipSession(role: .initiator, exchanges: [.spendingRights, .replication], peer: hq, rightsWanted: wanted), &store,
                                             GossipSession(role: .responder, exchanges: [.spendingRights, .replication], peer: s1), &headquarters, now: 5_000)
        #expect(responder.rights?.grantsWritten == 1 && initiator.rights?.grantsReceived == 1)
        #expect(try store.rightsToIssue(heldBy: s1, in: month) == Points(400))
        #expect(try headquarters.rightsToIssue(heldBy: hq, in: month) == Points(600))
        #expect(try store.monthlyCounters(in: month) == headquarters.monthlyCounters(in: month))
    }

    @Test func issuingRequestsReadBackAndBadOnesAreRefused() throws {
        let message = GossipMessage.rightsRequest([RightsWanted(.issuing(month, Points(400)), request: RequestID(unchecked: "q1")),
                                                   RightsWanted(account: ann, request: RequestID(unchecked: "q2"))])
        #expect(try GossipMessage.decode(type: message.typeCode, payload: message.payload()) == message)
        for points in [Int64(0), -5, Limits.maximumPoints.value + 1] {
            let bad = GossipMessage.rightsRequest([RightsWanted(.issuing(month, Points(points)), request: RequestID(unchecked: "q"))])
            #expect(throws: DecodingError.self) { try GossipMessage.decode(type: bad.typeCode, payload: bad.payload()) }
        }
        var payload = message.payload()
        payload[4] = 7
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: message.typeCode, payload: payload) }
    }

    @Test func askingAgainForAMonthReplacesWhatWasAsked() {
        var demand = RightsDemand(node: s1, prefix: "p")
        #expect(demand.want(.issuing(month, Points(100)), from: [hq], now: 0) == [hq])
        #expect(demand.want(.issuing(month, Points(100)), from: [hq], now: 1).isEmpty)
        #expect(demand.want(.issuing(month, Points(300)), from: [hq], now: 2) == [hq])
        #expect(demand.wanted(from: hq).map(\.subject) == [.issuing(month, Points(300))])
    }
}
