import Dispatch
import PointMeshCore
import PointMeshCrypto
import PointMeshJSON
import Synchronization
import Testing

private let origin = NodeID(unchecked: "store-1")
private let alice = AccountID(unchecked: "alice")

private func purchase(_ receipt: String, fen: Int64, account: AccountID = alice) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(fen)))
}

private func refund(_ refundID: String, receipt: String = "R1", fen: Int64) -> PreparedWrite {
    PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: refundID), receipt: ReceiptID(unchecked: receipt), amount: Fen(fen)))
}

private func redeem(_ requestID: String, points: Int64, account: AccountID = alice) -> PreparedWrite {
    PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: requestID), account: account, points: Points(points)))
}

private func appended(_ decision: WriteDecision) -> LedgerEntry? {
    if case .append(let entry) = decision { return entry }
    return nil
}

/// What an entry did to alice: (points, debt).
private func change(_ entry: LedgerEntry, _ account: AccountID = alice) -> (Points, Points) {
    let change = MoveEffects.change(of: entry.moves, for: LedgerAccount(account))
    return (change.points, change.debt)
}

@Suite struct Earning {
    @Test func earnsOnePointPerWholeYuan() {
        #expect(Earn.pointsEarned(for: Fen(12_345)) == Points(123))
        #expect(Earn.pointsEarned(for: Fen(99)) == Points(0))
        #expect(Earn.pointsEarned(for: Fen(100)) == Points(1))
    }

    @Test func purchaseMovesPointsFromTheStoresIssuanceToTheCustomer() throws {
        var ledger = MemoryLedger(origin: origin)
        let entry = try #require(appended(try ledger.write(purchase("R1", fen: 5_000), now: 1_000)))
        #expect(entry.code == Earn.code)
        let month = CalendarMonth(containing: 1_000)
        #expect(entry.moves == [Move(debit: .issued(by: origin, in: month), credit: LedgerAccount(alice), amount: Points(50))])
        #expect(entry.idempotencyKey.description == "receipt:R1")
        #expect(ledger.accountState(of: alice, at: 1_000_000_000) == AccountState(balance: Points(50), debt: .zero))
        #expect(ledger.balance(BalanceKey(.issued(by: origin, in: month))).posted == Points(-50), "every point traces to where it came from")
        #expect(ledger.issued(by: origin, in: month) == Points(50) && ledger.issued(by: nil, in: month) == Points(50))
        #expect(try Earn.recorded(entry).receipt == ReceiptID(unchecked: "R1"))
        #expect(try CommonAnswer.balance(entry) == 50)
    }

    @Test func earningsRepayDebtFirst() throws {
        var ledger = MemoryLedger(origin: origin)
        _ = try ledger.write(purchase("R1", fen: 5_000), now: 1)
        _ = try ledger.write(redeem("Q1", points: 50), now: 2)
        _ = try ledger.write(refund("F1", fen: 3_000), now: 3)
        #expect(ledger.accountState(of: alice, at: 1_000_000_000) == AccountState(balance: .zero, debt: Points(30)))
        let partly = try #require(appended(try ledger.write(purchase("R2", fen: 2_000), now: 4)))
        #expect(change(partly) == (Points(0), Points(-20)))
        let fully = try #require(appended(try ledger.write(purchase("R3", fen: 5_000), now: 5)))
        #expect(change(fully) == (Points(40), Points(-10)))
        #expect(ledger.accountState(of: alice, at: 1_000_000_000) == AccountState(balance: Points(40), debt: .zero))
        // The answers say so, negative numbers written as such.
        #expect(try CommonAnswer.integer("debt_delta", partly) == -20)
        #expect(try CommonAnswer.integer("debt_delta", fully) == -10)
    }
}

@Suite struct Idempotency {
    @Test func replayedReceiptEarnsOnce() throws {
        var ledger = MemoryLedger(origin: origin)
        let first = try #require(appended(try ledger.write(purchase("R1", fen: 10_000), now: 1)))
        #expect(try ledger.write(purchase("R1", fen: 10_000), now: 2) == .replay(first))
        #expect(ledger.accountState(of: alice, at: 1_000_000_000).balance == Points(100))
    }

    @Test func sameReceiptWithAnotherBodyConflicts() throws {
        var ledger = MemoryLedger(origin: origin)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: 1)
        #expect(throws: LedgerError.idempotencyConflict(IdempotencyKey(scope: "receipt", id: "R1"))) {
            try ledger.write(purchase("R1", fen: 10_001), now: 2)
        }
        #expect(throws: LedgerError.idempotencyConflict(IdempotencyKey(scope: "receipt", id: "R1")), "another account is another body") {
            try ledger.write(purchase("R1", fen: 10_000, account: AccountID(unchecked: "bob")), now: 2)
        }
    }

    @Test func keysOfDifferentKindsNeverCollide() {
        let receipt = purchase("X", fen: 100).key
        let refundKey = refund("X", receipt: "Y", fen: 1).key
        #expect(receipt != refundKey)
        #expect(IdempotencyKey(parsing: refundKey.description) == refundKey)
    }

    /// The request hash of each kind is the one release 0.2 computed, so a write replayed after
    /// an upgrade is recognised as the same write, not a conflict.
    @Test func requestHashesAreThoseOfThePreviousRelease() {
        #expect(purchase("R1", fen: 12_345).hash.hex == RequestHash(canonical: "purchase\nR1\nalice\n12345\n").hex)
        #expect(refund("F1", fen: 100).hash == RequestHash(canonical: "refund\nF1\nR1\n100\n"))
        #expect(redeem("Q1", points: 5).hash == RequestHash(canonical: "redemption\nQ1\nalice\n5\n\n\n"))
    }

    /// SHA-256 gives the published test vectors (FIPS 180-2), also from many threads at once:
    /// the algorithm is fetched from libcrypto once and shared.
    @Test func sha256GivesThePublishedVectorsFromAnyThread() {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (String(repeating: "a", count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        ]
        for (text, digest) in vectors { #expect(SHA256Digest.hex(of: Array(text.utf8)) == digest) }
        let wrong = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let (text, digest) = vectors[index % 3]
            if SHA256Digest.hex(of: Array(text.utf8)) != digest { wrong.withLock { $0 += 1 } }
        }
        #expect(wrong.withLock { $0 } == 0)
    }

    /// A purchase hashes its canonical bytes without making them a string: the hash is still
    /// that of the canonical text, lines and override included.
    @Test func aPurchaseWithLinesHashesItsCanonicalText() throws {
        let items = [PurchaseItem(sku: SKU(unchecked: "tea-1"), category: CategoryID(unchecked: "tea"), amount: Fen(600)),
                     PurchaseItem(sku: SKU(unchecked: "rice"), category: CategoryID(unchecked: "organic"), amount: Fen(1_205))]
        let request = Earn.Request(receipt: ReceiptID(unchecked: "R7"), account: alice, amount: Fen(2_000), items: items, budgetOverride: "launch day")
        let text = "purchase\nR7\nalice\n2000\nitem\ttea-1\ttea\t600\nitem\trice\torganic\t1205\noverride\tlaunch day\n"
        #expect(Earn.canonicalForm(request) == text)
        #expect(PreparedWrite(Earn.self, request).hash == RequestHash(canonical: text))
        let body = #"{"receipt_id":"R7","account_id":"alice","amount_fen":2000,"items":[{"sku":"tea-1","category":"tea","amount_fen":600},{"sku":"rice","category":"organic","amount_fen":1205}]}"#
        #expect(try PreparedWrite.parse(Earn.self, body: Array(body.utf8)).hash == RequestHash(canonical: "purchase\nR7\nalice\n2000\nitem\ttea-1\ttea\t600\nitem\trice\torganic\t1205\n"))
    }
}

@Suite struct Refunds {
    private func ledgerWithPurchase(fen: Int64 = 10_000) throws -> MemoryLedger {
        var ledger = MemoryLedger(origin: origin)
        _ = try ledger.write(purchase("R1", fen: fen), now: 1)
        return ledger
    }

    @Test func refundReversesPointsProRata() throws {
        var ledger = try ledgerWithPurchase()
        let entry = try #require(appended(try ledger.write(refund("F1", fen: 2_500), now: 2)))
        #expect(entry.code == Refund.code)
        #expect(change(entry) == (Points(-25), .zero))
        #expect(entry.moves == [Move(debit: LedgerAccount(alice), credit: .clawedBack(by: origin), amount: Points(25))])
        #expect(try CommonAnswer.balance(entry) == 75)
    }

    @Test func spentPointsBecomeDebtAndBalanceStaysAtZero() throws {
        var ledger = try ledgerWithPurchase()
        _ = try ledger.write(redeem("Q1", points: 90), now: 2)
        let entry = try #require(appended(try ledger.write(refund("F1", fen: 10_000), now: 3)))
        #expect(change(entry) == (Points(-10), Points(90)))
        #expect(ledger.accountState(of: alice, at: 1_000_000_000) == AccountState(balance: .zero, debt: Points(90)))
        #expect(ledger.balance(BalanceKey(.debtOwed, .debt)).posted == Points(-90))
    }

    @Test func refundsBeyondThePurchaseAreRefused() throws {
        var ledger = try ledgerWithPurchase()
        _ = try ledger.write(refund("F1", fen: 9_000), now: 2)
        #expect(throws: LedgerError.refundExceedsPurchase(receipt: ReceiptID(unchecked: "R1"), remaining: Fen(1_000))) {
            try ledger.write(refund("F2", fen: 1_001), now: 3)
        }
    }

    @Test func refundOfUnknownReceiptIsRefused() {
        var ledger = MemoryLedger(origin: origin)
        #expect(throws: LedgerError.receiptNotFound(ReceiptID(unchecked: "R1"))) { try ledger.write(refund("F1", fen: 1), now: 1) }
    }

    /// However a receipt is split into partial refunds, the reversals add up to exactly what it
    /// earned: never more (points created) nor less (points kept after a full refund).
    @Test(arguments: 0..<200)
    func partialRefundsAddUpToTheEarnedPoints(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed))
        let amount = Int64.random(in: 1...Limits.maximumAmount.value, using: &random)
        let points = Earn.pointsEarned(for: Fen(amount))
        var ledger = try ledgerWithPurchase(fen: amount)
        var refunded: Int64 = 0
        var part = 0
        while refunded < amount {
            let piece = part == 5 ? amount - refunded : Int64.random(in: 1...(amount - refunded), using: &random)
            _ = try ledger.write(refund("F\(part)", fen: piece), now: Int64(part + 2))
            refunded += piece
            #expect(ledger.accountState(of: alice, at: 1_000_000_000).balance >= .zero)
            part += 1
        }
        #expect(ledger.accountState(of: alice, at: 1_000_000_000).balance == .zero, "seed \(seed): amount \(amount), earned \(points)")
        #expect(ledger.balance(BalanceKey(.clawedBack(by: origin))).posted == points)
    }
}

@Suite struct Redemptions {
    @Test func redemptionMovesPointsToTheRedeemedAccount() throws {
        var ledger = MemoryLedger(origin: origin)
        _ = try ledger.write(purchase("R1", fen: 4_000), now: 1)
        let entry = try #require(appended(try ledger.write(redeem("Q1", points: 40), now: 2)))
        #expect(change(entry) == (Points(-40), .zero))
        #expect(entry.moves.first?.credit == .redeemed(reward: nil))
        #expect(ledger.accountState(of: alice, at: 1_000_000_000).balance == .zero)
    }

    @Test func redemptionBeyondTheBalanceIsRefused() throws {
        var ledger = MemoryLedger(origin: origin)
        _ = try ledger.write(purchase("R1", fen: 3_900), now: 1)
        #expect(throws: LedgerError.insufficientPoints(account: alice, balance: Points(39), requested: Points(40))) {
            try ledger.write(redeem("Q1", points: 40), now: 2)
        }
    }
}

/// The answer fields a replay needs, read back from the entry's details.
private enum CommonAnswer {
    static func balance(_ entry: LedgerEntry) throws -> Int64 { try integer("balance", entry) ?? -1 }

    static func integer(_ key: String, _ entry: LedgerEntry) throws -> Int64? {
        let body = try JSONParser.parse(try EntryKinds.kind(code: entry.code)!.response(entry, replayed: false))
        guard case .object(let fields) = body, case .integer(let value) = fields[key] else { return nil }
        return value
    }
}

/// Requests whose fields read well on their own but make no sense together are refused, not
/// recorded with the odd field ignored (smaller items of "Two stores deciding at once").
@Suite struct FieldsThatDoNotApply {
    @Test func aPurchaseStraightIntoAFamilyPoolIsRefused() throws {
        var ledger = MemoryLedger(origin: origin)
        #expect(throws: LedgerError.fieldNotApplicable(field: "account_id", why: "'family:kims' is a family pool: a pool earns only through members who auto-pool, so a receipt names the customer")) {
            try ledger.write(purchase("P1", fen: 10_000, account: AccountID(unchecked: "family:kims")), now: 1_000)
        }
        #expect(ledger.allEntries.isEmpty)
    }

    @Test func aBillAmountOnARewardThatIsNoBillDeductionIsRefused() throws {
        var ledger = MemoryLedger(origin: origin)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: 1_000)
        _ = try ledger.write(PreparedWrite(RewardDefinition.self, Reward(id: RequestID(unchecked: "tea"), name: "Tea", points: Points(20), kind: .voucher)), now: 2_000)
        let withBill = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: alice, points: nil,
                                                                         reward: RequestID(unchecked: "tea"), bill: Fen(5_000)))
        #expect {
            try ledger.write(withBill, now: 3_000)
        } throws: { error in
            guard case LedgerError.fieldNotApplicable(let field, _) = error else { return false }
            return field == "bill_amount_fen"
        }
        let without = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q2"), account: alice, points: nil,
                                                                        reward: RequestID(unchecked: "tea")))
        #expect(appended(try ledger.write(without, now: 3_000)) != nil)
    }

    @Test(arguments: ["CHAIN", "Chain", "chaiN"])
    func aBudgetScopeSpellingChainOtherwiseIsRefused(scope: String) throws {
        #expect(BudgetScope(scope) == nil)
        _ = try PreparedWrite.parse(BudgetDefinition.self, body: Array(#"{"points":100}"#.utf8), path: ["month": "2026-12", "scope": "chain"])
        _ = try PreparedWrite.parse(BudgetDefinition.self, body: Array(#"{"points":100}"#.utf8), path: ["month": "2026-12", "scope": "store-7"])
        #expect(throws: RequestError.self) {
            try PreparedWrite.parse(BudgetDefinition.self, body: Array(#"{"points":100}"#.utf8), path: ["month": "2026-12", "scope": scope])
        }
    }
}
