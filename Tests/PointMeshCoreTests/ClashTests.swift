import PointMeshCore
import Testing

private let n1 = NodeID(unchecked: "n1"), n2 = NodeID(unchecked: "n2")

private func purchase(_ receipt: String, account: String, fen: Int64) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: account), amount: Fen(fen)))
}

private func refund(_ id: String, receipt: String, fen: Int64) -> PreparedWrite {
    PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: id), receipt: ReceiptID(unchecked: receipt), amount: Fen(fen)))
}

private func appended(_ decision: WriteDecision) throws -> LedgerEntry {
    guard case .append(let entry) = decision else { throw LedgerError.membershipUnchanged }
    return entry
}

/// Two nodes that decided apart exchange everything they hold.
private func exchange(_ a: inout MemoryLedger, _ b: inout MemoryLedger) {
    let fromA = a.allEntries.sorted { $0.id < $1.id }, fromB = b.allEntries.sorted { $0.id < $1.id }
    _ = b.apply(fromA)
    _ = a.apply(fromB)
}

/// The rule for one id used by two requests at nodes that had not seen each other, on the pure
/// core (design.md, "Conflicts").
@Suite struct ClashTests {
    @Test func onlyACopyOfTheIdenticalRequestCollapses() throws {
        var a = MemoryLedger(origin: n1), b = MemoryLedger(origin: n2)
        let first = try appended(a.write(purchase("D3", account: "w1", fen: 5_000), now: 1_000))
        let other = try appended(b.write(purchase("D3", account: "w2", fen: 7_000), now: 2_000))
        #expect(ReceivedEntryEffect.of(other, counting: [first]) == .counts)
        var copy = other
        copy.id = EntryID(origin: n1, sequence: 9)
        copy.timestamp = first.timestamp
        #expect(ReceivedEntryEffect.of(copy, counting: [first, other]) == .supersedes(other), "an earlier identical copy wins over its own request only")
        exchange(&a, &b)
        for ledger in [a, b] {
            #expect(ledger.duplicates.isEmpty)
            #expect(ledger.countingEntries(for: first.idempotencyKey).map(\.id) == [first.id, other.id], "earliest first")
            #expect(ledger.accountState(of: AccountID(unchecked: "w1"), at: 3_000).balance == Points(50))
            #expect(ledger.accountState(of: AccountID(unchecked: "w2"), at: 3_000).balance == Points(70))
        }
        // Each till's retry replays its own write, anywhere; a third body is a conflict.
        #expect(try b.write(purchase("D3", account: "w1", fen: 5_000), now: 3_000) == .replay(first))
        #expect(try a.write(purchase("D3", account: "w2", fen: 7_000), now: 3_000) == .replay(other))
        #expect(throws: LedgerError.idempotencyConflict(first.idempotencyKey)) { try a.write(purchase("D3", account: "w3", fen: 1), now: 3_000) }
    }

    @Test func aRefundTakesThePurchaseRungUpAtItsStoreAndCountsApart() throws {
        var a = MemoryLedger(origin: n1), b = MemoryLedger(origin: n2)
        _ = try a.write(purchase("D3", account: "w1", fen: 5_000), now: 1_000)
        _ = try b.write(purchase("D3", account: "w2", fen: 7_000), now: 2_000)
        exchange(&a, &b)
        let atB = try appended(b.write(refund("F1", receipt: "D3", fen: 7_000), now: 3_000))
        #expect(atB.moves.first?.debit == LedgerAccount(AccountID(unchecked: "w2")))
        let atA = try appended(a.write(refund("F2", receipt: "D3", fen: 5_000), now: 3_000))
        #expect(atA.moves.first?.debit == LedgerAccount(AccountID(unchecked: "w1")))
        exchange(&a, &b)
        // Each purchase is refunded in full, apart: neither refund used up the other's room.
        #expect(throws: LedgerError.refundExceedsPurchase(receipt: ReceiptID(unchecked: "D3"), remaining: .zero)) {
            try b.write(refund("F3", receipt: "D3", fen: 1), now: 4_000)
        }
        for ledger in [a, b] {
            #expect(ledger.accountState(of: AccountID(unchecked: "w1"), at: 5_000) == AccountState(balance: .zero, debt: .zero))
            #expect(ledger.accountState(of: AccountID(unchecked: "w2"), at: 5_000) == AccountState(balance: .zero, debt: .zero))
        }
    }

    /// A refund names its purchase by request hash, so a refund of a purchase copy that later
    /// loses to an identical earlier copy still counts against that purchase: refunding the
    /// whole receipt again elsewhere is refused.
    @Test func aRefundOfALosingCopyStillCountsAgainstThePurchase() throws {
        var a = MemoryLedger(origin: n1), b = MemoryLedger(origin: n2)
        _ = try a.write(purchase("R1", account: "w1", fen: 5_000), now: 1_000)
        _ = try b.write(purchase("R1", account: "w1", fen: 5_000), now: 2_000)
        _ = try b.write(refund("F1", receipt: "R1", fen: 5_000), now: 3_000)
        exchange(&a, &b)
        #expect(b.duplicates.count == 1 && a.duplicates == b.duplicates, "the later identical purchase is the duplicate")
        #expect(throws: LedgerError.refundExceedsPurchase(receipt: ReceiptID(unchecked: "R1"), remaining: .zero)) {
            try a.write(refund("F2", receipt: "R1", fen: 5_000), now: 4_000)
        }
    }
}
