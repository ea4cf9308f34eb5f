import PointMeshCore
import Testing

private let eve = AccountID(unchecked: "eve")
private let s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), s3 = NodeID(unchecked: "s3")

private func hold(_ id: String) -> HoldRequest {
    HoldRequest(request: RequestID(unchecked: id), account: eve, evidence: "CASE-\(id)", reason: "points farming", operatorName: "Li Wei")
}

private func purchase(_ receipt: String, fen: Int64) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: eve, amount: Fen(fen)))
}

private func redeem(_ id: String, _ points: Int64) -> PreparedWrite {
    PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: id), account: eve, points: Points(points)))
}

@Suite struct FraudHolds {
    @Test func aFrozenAccountEarnsButCannotRedeemUntilUnfrozen() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: 1_000)
        _ = try ledger.write(PreparedWrite(Freeze.self, hold("F1")), now: 2_000)
        #expect(throws: LedgerError.accountFrozen(eve, since: 2_000)) { try ledger.write(redeem("Q1", 10), now: 3_000) }
        _ = try ledger.write(purchase("R2", fen: 5_000), now: 4_000)
        #expect(ledger.accountState(of: eve, at: 5_000).balance == Points(150), "a frozen account keeps earning")
        #expect(throws: LedgerError.alreadyFrozen(eve)) { try ledger.write(PreparedWrite(Freeze.self, hold("F2")), now: 5_000) }
        _ = try ledger.write(PreparedWrite(Unfreeze.self, hold("U1")), now: 6_000)
        #expect(throws: LedgerError.notFrozen(eve)) { try ledger.write(PreparedWrite(Unfreeze.self, hold("U2")), now: 7_000) }
        if case .append = try ledger.write(redeem("Q2", 10), now: 8_000) {} else { Issue.record("redemption after unfreeze refused") }
        #expect(throws: LedgerError.unknownAccount(AccountID(unchecked: "nobody"), field: "account_id")) {
            try ledger.write(PreparedWrite(Freeze.self, HoldRequest(request: RequestID(unchecked: "F9"), account: AccountID(unchecked: "nobody"),
                                                                    evidence: "e", reason: "r", operatorName: "o")), now: 9_000)
        }
    }

    /// A freeze at one store and an unfreeze at another, concurrently: the later in ledger order
    /// decides, the same on every node whatever order they arrive in (every interleaving of the
    /// two stores' sequences; `ArrivalOrderTests` runs them on SQLite).
    @Test func concurrentFreezeAndUnfreezeSettleTheSameEverywhere() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        _ = try a.write(purchase("R1", fen: 1_000), now: 1_000)
        _ = try a.write(PreparedWrite(Freeze.self, hold("F1")), now: 2_000)
        _ = b.apply(a.allEntries)
        _ = try a.write(PreparedWrite(Unfreeze.self, hold("U-a")), now: 3_000)
        _ = try b.write(PreparedWrite(Unfreeze.self, hold("U-b")), now: 2_500)
        _ = try b.write(PreparedWrite(Freeze.self, hold("F-b")), now: 4_000)
        let orders = interleavings([ownEntries(of: a), ownEntries(of: b)])
        #expect(orders.count == 10)
        for order in orders {
            let state = try AccountHold.of(eve, from: replayed(order, at: s3))
            #expect(state.frozen && state.since == 4_000, "the freeze at 4,000 is last in ledger order: \(order.map(\.id))")
        }
    }

    @Test func aDeductionTakesTheSoonestLotsAndNoMoreThanTheBalance() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: 1_000)
        _ = try ledger.write(PreparedWrite(Freeze.self, hold("F1")), now: 1_500)
        let deduct = { (id: String, points: Int64) in PreparedWrite(Deduction.self, Deduction.Request(hold: hold(id), points: Points(points))) }
        #expect(throws: LedgerError.insufficientPoints(account: eve, balance: Points(100), requested: Points(101))) {
            try ledger.write(deduct("D1", 101), now: 2_000)
        }
        guard case .append(let entry) = try ledger.write(deduct("D2", 60), now: 2_000) else {
            Issue.record("deduction refused on a frozen account")
            return
        }
        #expect(entry.moves == [Move(debit: LedgerAccount(eve), credit: .deducted, amount: Points(60))])
        #expect(ledger.accountState(of: eve, at: 3_000).balance == Points(40))
        #expect(ledger.lotBook(of: eve).lots.map(\.remaining) == [Points(40)])
    }
}
