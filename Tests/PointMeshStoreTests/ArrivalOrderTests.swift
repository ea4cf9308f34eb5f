import Foundation
import PointMeshCore
import PointMeshStore
import Testing

private let alice = AccountID(unchecked: "alice"), bob = AccountID(unchecked: "bob")
private let lees = FamilyID(unchecked: "lees")
private let s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), s3 = NodeID(unchecked: "s3")

private func membership<Kind: EntryKindRule>(_ kind: Kind.Type, _ account: AccountID, in ledger: MemoryLedger) -> PreparedWrite
where Kind.Request == MembershipRequest {
    PreparedWrite(kind, MembershipRequest(family: lees, account: account), versions: ledger.linkedEntries(FamilyMembership.memberLink(account)).count)
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
}

/// Applies `sequences` to a fresh SQLite store in every interleaving and checks lots,
/// balances, debts, families, holds, void entries and verify against the fold of them all.
private func expectTheSameInEveryOrder(_ sequences: [[LedgerEntry]], accounts: [AccountID], orders expected: Int) throws {
    let reference = MemoryLedger.holding(sequences)
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
            #expect(try store.read { try $0.accountState(of: account, at: 10_000) } == reference.accountState(of: account, at: 10_000),
                    "order \(index): balance of \(account)")
            #expect(try store.read { try FamilyMembership.family(of: account, from: $0) } == FamilyMembership.family(of: account, from: reference))
            #expect(try store.read { try AccountHold.of(account, from: $0) }.frozen == AccountHold.of(account, from: reference).frozen)
        }
        #expect(try store.read { try $0.voidEntries() } == reference.voids, "order \(index): void entries")
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty, "order \(index): verify")
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
