import PointMeshCore
import Testing

private let origin = NodeID(unchecked: "store-1")
private let alice = AccountID(unchecked: "alice")

private func id(_ sequence: Int64) -> EntryID { EntryID(origin: origin, sequence: sequence) }
private let stamp = HLCTimestamp(wallMilliseconds: 1_000, logical: 0)

private func purchase(_ receipt: String, fen: Int64, account: AccountID = alice) -> WriteCommand {
    .purchase(PurchaseRequest(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(fen)))
}

private func appended(_ decision: WriteDecision) -> LedgerEntry? {
    if case .append(let entry) = decision { return entry }
    return nil
}

@Suite struct Earning {
    @Test func earnsOnePointPerWholeYuan() {
        #expect(LedgerRules.pointsEarned(for: Fen(12_345)) == Points(123))
        #expect(LedgerRules.pointsEarned(for: Fen(99)) == Points(0))
        #expect(LedgerRules.pointsEarned(for: Fen(100)) == Points(1))
    }

    @Test func purchaseCreditsTheAccount() throws {
        let decision = try LedgerRules.decide(purchase("R1", fen: 5_000), facts: WriteFacts(account: AccountState(balance: Points(7), debt: .zero)), id: id(1), timestamp: stamp)
        let entry = try #require(appended(decision))
        #expect(entry.kind == .earn)
        #expect(entry.points == Points(50))
        #expect(entry.balanceDelta == Points(50))
        #expect(entry.balanceAfter == Points(57))
        #expect(entry.idempotencyKey.description == "receipt:R1")
    }

    @Test func earningsRepayDebtFirst() throws {
        let facts = WriteFacts(account: AccountState(balance: .zero, debt: Points(30)))
        let partly = try #require(appended(try LedgerRules.decide(purchase("R2", fen: 2_000), facts: facts, id: id(2), timestamp: stamp)))
        #expect(partly.balanceDelta == Points(0))
        #expect(partly.debtDelta == Points(-20))
        let fully = try #require(appended(try LedgerRules.decide(purchase("R3", fen: 5_000), facts: facts, id: id(3), timestamp: stamp)))
        #expect(fully.balanceDelta == Points(20))
        #expect(fully.debtDelta == Points(-30))
        #expect(fully.points == Points(50))
    }
}

@Suite struct Idempotency {
    @Test func replayedReceiptEarnsOnce() throws {
        let first = try #require(appended(try LedgerRules.decide(purchase("R1", fen: 10_000), facts: WriteFacts(), id: id(1), timestamp: stamp)))
        let again = try LedgerRules.decide(purchase("R1", fen: 10_000), facts: WriteFacts(existing: first), id: id(2), timestamp: stamp)
        #expect(again == .replay(first))
    }

    @Test func sameReceiptWithAnotherBodyConflicts() throws {
        let first = try #require(appended(try LedgerRules.decide(purchase("R1", fen: 10_000), facts: WriteFacts(), id: id(1), timestamp: stamp)))
        #expect(throws: LedgerError.idempotencyConflict(IdempotencyKey(scope: .receipt, id: "R1"))) {
            try LedgerRules.decide(purchase("R1", fen: 10_001), facts: WriteFacts(existing: first), id: id(2), timestamp: stamp)
        }
        #expect(throws: LedgerError.self) {
            try LedgerRules.decide(purchase("R1", fen: 10_000, account: AccountID(unchecked: "bob")), facts: WriteFacts(existing: first), id: id(2), timestamp: stamp)
        }
    }

    @Test func keysOfDifferentKindsNeverCollide() {
        let receipt = purchase("X", fen: 100).idempotencyKey
        let refund = WriteCommand.refund(RefundRequest(refund: RequestID(unchecked: "X"), receipt: ReceiptID(unchecked: "Y"), amount: Fen(1))).idempotencyKey
        #expect(receipt != refund)
        #expect(IdempotencyKey(parsing: refund.description) == refund)
    }
}

@Suite struct Refunds {
    private func earned(_ fen: Int64, points: Int64) -> LedgerEntry {
        LedgerEntry(id: id(1), timestamp: stamp, kind: .earn, account: alice, points: Points(points), balanceDelta: Points(points),
                    debtDelta: .zero, balanceAfter: Points(points), idempotencyKey: IdempotencyKey(scope: .receipt, id: "R1"),
                    requestHash: RequestHash(hex: "x"), receipt: ReceiptID(unchecked: "R1"), amount: Fen(fen))
    }

    private func refund(_ refundID: String, fen: Int64) -> WriteCommand {
        .refund(RefundRequest(refund: RequestID(unchecked: refundID), receipt: ReceiptID(unchecked: "R1"), amount: Fen(fen)))
    }

    @Test func refundReversesPointsProRata() throws {
        let facts = WriteFacts(account: AccountState(balance: Points(100), debt: .zero), purchase: earned(10_000, points: 100))
        let entry = try #require(appended(try LedgerRules.decide(refund("F1", fen: 2_500), facts: facts, id: id(2), timestamp: stamp)))
        #expect(entry.kind == .refund)
        #expect(entry.points == Points(25))
        #expect(entry.balanceDelta == Points(-25))
        #expect(entry.debtDelta == .zero)
        #expect(entry.balanceAfter == Points(75))
    }

    @Test func spentPointsBecomeDebtAndBalanceStaysAtZero() throws {
        let facts = WriteFacts(account: AccountState(balance: Points(10), debt: .zero), purchase: earned(10_000, points: 100))
        let entry = try #require(appended(try LedgerRules.decide(refund("F1", fen: 10_000), facts: facts, id: id(2), timestamp: stamp)))
        #expect(entry.points == Points(100))
        #expect(entry.balanceDelta == Points(-10))
        #expect(entry.debtDelta == Points(90))
        #expect(entry.balanceAfter == .zero)
    }

    @Test func refundsBeyondThePurchaseAreRefused() {
        let facts = WriteFacts(account: AccountState(balance: Points(100), debt: .zero), purchase: earned(10_000, points: 100), refundedSoFar: Fen(9_000))
        #expect(throws: LedgerError.refundExceedsPurchase(receipt: ReceiptID(unchecked: "R1"), remaining: Fen(1_000))) {
            try LedgerRules.decide(refund("F2", fen: 1_001), facts: facts, id: id(3), timestamp: stamp)
        }
    }

    @Test func refundOfUnknownReceiptIsRefused() {
        #expect(throws: LedgerError.receiptNotFound(ReceiptID(unchecked: "R1"))) {
            try LedgerRules.decide(refund("F1", fen: 1), facts: WriteFacts(), id: id(2), timestamp: stamp)
        }
    }

    /// However a receipt is split into partial refunds, the reversals add up to exactly what it
    /// earned: never more (points created) nor less (points kept after a full refund).
    @Test(arguments: 0..<200)
    func partialRefundsAddUpToTheEarnedPoints(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed))
        let amount = Int64.random(in: 1...Limits.maximumAmount.value, using: &random)
        let points = LedgerRules.pointsEarned(for: Fen(amount)).value
        let purchase = earned(amount, points: points)
        var refunded: Int64 = 0
        var reversed: Int64 = 0
        var part = 0
        while refunded < amount {
            let piece = part == 5 ? amount - refunded : Int64.random(in: 1...(amount - refunded), using: &random)
            let facts = WriteFacts(account: AccountState(balance: Points(points - reversed), debt: .zero), purchase: purchase, refundedSoFar: Fen(refunded))
            let entry = try #require(appended(try LedgerRules.decide(refund("F\(part)", fen: piece), facts: facts, id: id(2), timestamp: stamp)))
            refunded += piece
            reversed += entry.points.value
            #expect(reversed <= points)
            part += 1
        }
        #expect(reversed == points, "seed \(seed): amount \(amount)")
    }
}

@Suite struct Redemptions {
    private func redeem(_ points: Int64) -> WriteCommand {
        .redemption(RedemptionRequest(request: RequestID(unchecked: "Q1"), account: alice, points: Points(points)))
    }

    @Test func redemptionSpendsPoints() throws {
        let entry = try #require(appended(try LedgerRules.decide(redeem(40), facts: WriteFacts(account: AccountState(balance: Points(40), debt: .zero)), id: id(2), timestamp: stamp)))
        #expect(entry.balanceDelta == Points(-40))
        #expect(entry.balanceAfter == .zero)
    }

    @Test func redemptionBeyondTheBalanceIsRefused() {
        #expect(throws: LedgerError.insufficientPoints(account: alice, balance: Points(39), requested: Points(40))) {
            try LedgerRules.decide(redeem(40), facts: WriteFacts(account: AccountState(balance: Points(39), debt: .zero)), id: id(2), timestamp: stamp)
        }
    }
}
