import Foundation
import PointMeshCore
import PointMeshStore
import Testing

private let alice = AccountID(unchecked: "alice"), bob = AccountID(unchecked: "bob"), carol = AccountID(unchecked: "carol")
private let lees = FamilyID(unchecked: "lees"), smiths = FamilyID(unchecked: "smiths"), jones = FamilyID(unchecked: "jones")
private let s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), s3 = NodeID(unchecked: "s3")
private let day = CivilCalendar.millisecondsPerDay

private func membership<Kind: EntryKindRule>(_ kind: Kind.Type, _ account: AccountID, into family: FamilyID = lees, in ledger: MemoryLedger) -> PreparedWrite
where Kind.Request == MembershipRequest {
    PreparedWrite(kind, MembershipRequest(family: family, account: account), versions: ledger.linkedEntries(FamilyMembership.memberLink(account)).count)
}

private func purchase(_ receipt: String, _ account: AccountID, fen: Int64) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(fen)))
}

private func redemption(_ id: String, _ account: AccountID, _ points: Int64) -> PreparedWrite {
    PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: id), account: account, points: Points(points)))
}

private func transfer(_ id: String, _ from: AccountID, _ to: AccountID, _ points: Int64) -> PreparedWrite {
    PreparedWrite(Transfer.self, Transfer.Request(request: RequestID(unchecked: id), from: from, to: to, points: Points(points)))
}

private func hold(_ id: String, _ account: AccountID) -> HoldRequest {
    HoldRequest(request: RequestID(unchecked: id), account: account, evidence: "CASE-\(id)", reason: "farming", operatorName: "Li")
}

private func written(_ decision: WriteDecision) throws -> LedgerEntry {
    guard case .append(let entry) = decision else { throw StoreError.closed }
    return entry
}

/// Every interleaving of `sequences` that keeps each one's order (as gossip delivers an
/// origin's entries in sequence).
private func interleavings(_ sequences: [[LedgerEntry]]) -> [[LedgerEntry]] {
    guard sequences.contains(where: { !$0.isEmpty }) else { return [[]] }
    return sequences.indices.filter { !sequences[$0].isEmpty }.flatMap { index in
        var rest = sequences
        let first = rest[index].removeFirst()
        return interleavings(rest).map { [first] + $0 }
    }
}

/// The rules that look at the converged history (family membership, transfers it voids, lots,
/// holds) give the same answers on the real store whatever order the entries arrive in: the
/// store keeps derived tables (lots, counters, voids) updated as entries land, which a
/// recomputing `MemoryLedger` can't get wrong, so the orders are run here, on SQLite.
@Suite struct ArrivalOrderTests {
    @Test func theStoreAgreesWithTheFoldInEveryArrivalOrder() throws {
        // s1 rings up alice and forms the family; s2, having seen that, takes alice out and
        // freezes bob; s3, having seen only s1, lets alice give bob points and bob spend some,
        // a transfer the converged history voids (alice had left).
        var first = MemoryLedger(origin: s1), second = MemoryLedger(origin: s2), third = MemoryLedger(origin: s3)
        let fromS1 = [
            try written(first.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: alice, amount: Fen(10_000))),
                                    now: 1_000)),
            try written(first.write(membership(FamilyJoin.self, alice, in: first), now: 1_100)),
            try written(first.write(membership(FamilyJoin.self, bob, in: first), now: 1_200)),
        ]
        _ = second.apply(fromS1)
        _ = third.apply(fromS1)
        let fromS2 = [
            try written(second.write(membership(FamilyLeave.self, alice, in: second), now: 2_000)),
            try written(second.write(PreparedWrite(Freeze.self, HoldRequest(request: RequestID(unchecked: "H1"), account: bob, evidence: "CASE-1",
                                                                              reason: "farming", operatorName: "Li")), now: 2_100)),
        ]
        let fromS3 = [
            try written(third.write(PreparedWrite(Transfer.self, Transfer.Request(request: RequestID(unchecked: "T1"), from: alice, to: bob,
                                                                                  points: Points(60))), now: 5_000)),
            try written(third.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: bob,
                                                                                      points: Points(20))), now: 5_100)),
        ]
        #expect(try !FamilyCondition.stands(fromS3[0], in: MemoryLedger.holding([fromS1, fromS2, fromS3])), "the scenario must void the transfer")
        try expectTheSameInEveryOrder([fromS1, fromS2, fromS3], accounts: [alice, bob], orders: 210)
    }

    /// A transfer in repays the receiver's debt first; when the converged history voids the
    /// transfer, the repayment goes with it: bob's debt is back, in every arrival order.
    @Test func aVoidTransferTakesItsDebtRepaymentBackInEveryArrivalOrder() throws {
        var first = MemoryLedger(origin: s1), second = MemoryLedger(origin: s2), third = MemoryLedger(origin: s3)
        let fromS1 = [
            try written(first.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: alice, amount: Fen(10_000))),
                                    now: 1_000)),
            try written(first.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R2"), account: bob, amount: Fen(1_000))),
                                    now: 1_010)),
            try written(first.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: bob,
                                                                                      points: Points(10))), now: 1_020)),
            try written(first.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R2"),
                                                                              amount: Fen(1_000))), now: 1_030)),
            try written(first.write(membership(FamilyJoin.self, alice, in: first), now: 1_100)),
            try written(first.write(membership(FamilyJoin.self, bob, in: first), now: 1_200)),
        ]
        #expect(first.accountState(of: bob, at: 2_000).debt == Points(10))
        _ = second.apply(fromS1)
        _ = third.apply(fromS1)
        let fromS2 = [try written(second.write(membership(FamilyLeave.self, alice, in: second), now: 2_000))]
        let gift = try written(third.write(PreparedWrite(Transfer.self, Transfer.Request(request: RequestID(unchecked: "T1"), from: alice, to: bob,
                                                                                         points: Points(30))), now: 5_000))
        #expect(third.accountState(of: bob, at: 6_000) == AccountState(balance: Points(20), debt: .zero), "decided, it repaid bob's debt")
        let merged = MemoryLedger.holding([fromS1, fromS2, [gift]])
        #expect(merged.accountState(of: bob, at: 6_000) == AccountState(balance: .zero, debt: Points(10)), "void, it repays nothing")
        #expect(merged.voids == [gift.id])
        try expectTheSameInEveryOrder([fromS1, fromS2, [gift]], accounts: [alice, bob], orders: 56)
    }

    /// `Families.theFirstJoinWinsInEveryArrivalOrder` on the store: cut off from each other, s1
    /// puts alice into smiths and s2 into jones, and each decides a transfer from alice on its
    /// own view. In every order, a's join before b's or after, alice ends in smiths (the join
    /// first in ledger order), bob in jones, and the transfer made inside jones is void.
    @Test func theFirstJoinWinsInEveryArrivalOrder() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        let purchaseA = try written(a.write(purchase("R-a", alice, fen: 10_000), now: 500))
        let purchaseB = try written(b.write(purchase("R-b", bob, fen: 100), now: 400))
        _ = a.apply([purchaseB])
        _ = b.apply([purchaseA])
        let fromS1 = [
            purchaseA,
            try written(a.write(membership(FamilyJoin.self, alice, into: smiths, in: a), now: 1_000)),
            try written(a.write(membership(FamilyJoin.self, carol, into: smiths, in: a), now: 1_001)),
            try written(a.write(transfer("T-a", alice, carol, 10), now: 2_100)),
        ]
        let fromS2 = [
            purchaseB,
            try written(b.write(membership(FamilyJoin.self, alice, into: jones, in: b), now: 1_200)),
            try written(b.write(membership(FamilyJoin.self, bob, into: jones, in: b), now: 1_201)),
            try written(b.write(transfer("T-b", alice, bob, 40), now: 2_000)),
        ]
        let joins = [fromS1[1].id, fromS2[1].id]
        let orders = interleavings([fromS1, fromS2])
        #expect(Set(orders.map { $0.map(\.id).filter(joins.contains) }) == [joins, Array(joins.reversed())], "both joins arrive first in some order")
        try expectTheSameInEveryOrder([fromS1, fromS2], accounts: [alice, bob, carol], orders: 70) { ledger, order throws in
            #expect(try FamilyMembership.family(of: alice, from: ledger) == smiths, "\(order): alice")
            #expect(try FamilyMembership.members(of: smiths, from: ledger) == [alice, carol], "\(order): smiths")
            #expect(try FamilyMembership.members(of: jones, from: ledger) == [bob], "\(order): jones")
            #expect(try [alice, bob, carol].map { try ledger.accountState(of: $0, at: 10_000).balance } == [Points(90), Points(1), Points(10)],
                    "\(order): alice keeps the 40 of the losing transfer; carol got 10 inside smiths")
            #expect(try !FamilyCondition.stands(fromS2[3], in: ledger), "\(order): the transfer inside jones")
        }
    }

    /// `LotsAcrossNodes.aLateRedemptionConsumesTheLotThatHasExpiredSince` on the store, with the
    /// office writing too: s1's redemption made the instant before alice's lot expired arrives
    /// before or after the office's purchase and its redemption after the expiry. In every order
    /// it takes 70 from the lot that has expired since (30 of it expired), not from the other.
    @Test func aLateRedemptionConsumesTheLotThatHasExpiredSinceInEveryArrivalOrder() throws {
        var store = MemoryLedger(origin: s1), office = MemoryLedger(origin: s2)
        let january15 = RFC3339.parse("2026-01-15T00:00:00Z")!, expiry = january15 + 400 * day, later = expiry + 2 * day
        var fromS1 = [
            try written(store.write(PreparedWrite(ExpiryPolicyKind.self, ExpiryPolicyKind.Request(version: RequestID(unchecked: "short"), rule: .days(400),
                                                                                               effectiveAt: january15 - day)), now: january15 - 2 * day)),
            try written(store.write(purchase("R1", alice, fen: 10_000), now: january15)),
        ]
        _ = office.apply(fromS1)
        let fromS2 = [
            try written(office.write(purchase("R2", alice, fen: 5_000), now: january15 + 10 * day)),
            try written(office.write(redemption("Q2", alice, 40), now: expiry + day)),
        ]
        fromS1.append(try written(store.write(redemption("Q1", alice, 70), now: expiry - 1)))
        try expectTheSameInEveryOrder([fromS1, fromS2], accounts: [alice], at: later, orders: 10) { ledger, order in
            #expect(try ledger.accountState(of: alice, at: later) == AccountState(balance: Points(10), debt: .zero), "\(order): balance")
            let book = try ledger.lotBook(of: alice)
            #expect(book.summary(at: later).expired == Points(30), "\(order): 70 of R1's 100 redeemed before they expired")
            #expect(book.lots.map(\.remaining) == [Points(30), Points(10)] && book.deficit == .zero, "\(order): lots")
        }
    }

    /// `LotsAcrossNodes.theBookIsTheSameWhateverTheArrivalOrder` on the store.
    @Test func theBookIsTheSameInEveryArrivalOrder() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        let january15 = RFC3339.parse("2026-01-15T00:00:00Z")!
        var fromS1 = [try written(a.write(purchase("R1", alice, fen: 10_000), now: january15))]
        var fromS2 = [try written(b.write(purchase("R2", alice, fen: 5_000), now: january15 + 10))]
        _ = b.apply(fromS1)
        fromS2.append(try written(b.write(redemption("Q1", alice, 120), now: january15 + 20)))
        fromS1.append(try written(a.write(purchase("R3", alice, fen: 3_000), now: january15 + 15)))
        try expectTheSameInEveryOrder([fromS1, fromS2], accounts: [alice], at: january15 + day, orders: 6) { ledger, order throws in
            #expect(try ledger.lotBook(of: alice).lots.map(\.remaining).reduce(.zero, +) == Points(60), "\(order): 100 + 50 + 30 earned, 120 spent")
        }
    }

    /// `FraudHolds.concurrentFreezeAndUnfreezeSettleTheSameEverywhere` on the store: a freeze,
    /// then concurrently an unfreeze at s1 and an unfreeze and a freeze at s2; the freeze at
    /// 4,000 is last in ledger order and holds in every arrival order.
    @Test func concurrentFreezeAndUnfreezeSettleTheSameInEveryArrivalOrder() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        var fromS1 = [
            try written(a.write(purchase("R1", bob, fen: 1_000), now: 1_000)),
            try written(a.write(PreparedWrite(Freeze.self, hold("F1", bob)), now: 2_000)),
        ]
        _ = b.apply(fromS1)
        fromS1.append(try written(a.write(PreparedWrite(Unfreeze.self, hold("U-a", bob)), now: 3_000)))
        let fromS2 = [
            try written(b.write(PreparedWrite(Unfreeze.self, hold("U-b", bob)), now: 2_500)),
            try written(b.write(PreparedWrite(Freeze.self, hold("F-b", bob)), now: 4_000)),
        ]
        try expectTheSameInEveryOrder([fromS1, fromS2], accounts: [bob], orders: 10) { ledger, order in
            let state = try AccountHold.of(bob, from: ledger)
            #expect(state.frozen && state.since == 4_000 && state.evidence == "CASE-F-b", "\(order): the freeze at 4,000 is last in ledger order")
            #expect(try ledger.accountState(of: bob, at: 10_000).balance == Points(10), "\(order): balance")
        }
    }
}

/// Applies `sequences` to a fresh SQLite store in every interleaving and checks lots,
/// balances and debts (at `instant`), families, holds, void entries and verify against the fold
/// of them all; `expect` checks the outcome the scenario is about on the fold and on each order
/// (its second argument names the order).
private func expectTheSameInEveryOrder(_ sequences: [[LedgerEntry]], accounts: [AccountID], at instant: Int64 = 10_000, orders expected: Int,
                                       expect: (any FactsSource, String) throws -> Void = { _, _ in }) throws {
    let reference = MemoryLedger.holding(sequences)
    try expect(reference, "the fold")
    let orders = interleavings(sequences)
    #expect(orders.count == expected)
    let directory = NSTemporaryDirectory() + "pointmesh-arrival-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for (index, order) in orders.enumerated() {
        let path = directory + "/\(index)"
        let store = try LedgerStore(directory: path, nodeID: NodeID(unchecked: "observer"), newNodeID: { NodeID(unchecked: "observer") }, clock: .frozen(at: 10_000))
        for entry in order { #expect(try store.applyReceived([entry]) == 1, "order \(index): \(entry.id) not stored") }
        for account in accounts {
            #expect(try store.read { try $0.lotBook(of: account) } == reference.lotBook(of: account), "order \(index): lots of \(account)")
            #expect(try store.read { try $0.accountState(of: account, at: instant) } == reference.accountState(of: account, at: instant),
                    "order \(index): balance of \(account)")
            #expect(try store.read { try FamilyMembership.family(of: account, from: $0) } == FamilyMembership.family(of: account, from: reference),
                    "order \(index): family of \(account)")
            #expect(try store.read { try AccountHold.of(account, from: $0) } == AccountHold.of(account, from: reference), "order \(index): hold of \(account)")
        }
        #expect(try store.read { try $0.voidEntries() } == reference.voids, "order \(index): void entries")
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty, "order \(index): verify")
        try store.read { try expect($0, "order \(index) \(order.map(\.id))") }
        store.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension MemoryLedger {
    /// A ledger of an observer holding every entry of `sequences`.
    static func holding(_ sequences: [[LedgerEntry]]) -> MemoryLedger {
        var ledger = MemoryLedger(origin: NodeID(unchecked: "observer"))
        for sequence in sequences { _ = ledger.apply(sequence) }
        return ledger
    }
}
