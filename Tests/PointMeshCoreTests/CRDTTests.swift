import PointMeshCore
import Testing

private let nodes = (0..<4).map { NodeID(unchecked: "n\($0)") }

/// A replica's counter after it has seen some prefix of each origin's increments.
private func randomCounter(_ random: inout SplitMix64, history: [[Int64]]) -> PNCounter {
    var counter = PNCounter()
    for (index, deltas) in history.enumerated() {
        for delta in deltas.prefix(Int.random(in: 0...deltas.count, using: &random)) {
            counter.add(delta, origin: nodes[index])
        }
    }
    return counter
}

@Suite struct CounterMerge {
    @Test(arguments: 0..<100)
    func mergeIsCommutativeAssociativeAndIdempotent(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        let history = nodes.map { _ in (0..<8).map { _ in Int64.random(in: -50...50, using: &random) } }
        let a = randomCounter(&random, history: history)
        let b = randomCounter(&random, history: history)
        let c = randomCounter(&random, history: history)
        #expect(a.merged(with: b) == b.merged(with: a))
        #expect(a.merged(with: b).merged(with: c) == a.merged(with: b.merged(with: c)))
        #expect(a.merged(with: a) == a)
        // Merging every replica yields the counter that saw everything.
        let full = randomCounterSeeingAll(history)
        #expect(a.merged(with: full) == full)
    }

    private func randomCounterSeeingAll(_ history: [[Int64]]) -> PNCounter {
        var counter = PNCounter()
        for (index, deltas) in history.enumerated() {
            for delta in deltas { counter.add(delta, origin: nodes[index]) }
        }
        return counter
    }

    @Test func valueIsCreditsMinusDebits() {
        var counter = PNCounter()
        counter.add(100, origin: nodes[0])
        counter.add(-30, origin: nodes[1])
        counter.add(5, origin: nodes[1])
        #expect(counter.value == 75)
        #expect(counter.increments == [nodes[0]: 100, nodes[1]: 5])
        #expect(counter.decrements == [nodes[1]: 30])
    }

    @Test func accountCountersFollowEntries() {
        var counters = AccountCounters()
        let entry = LedgerEntry(id: EntryID(origin: nodes[0], sequence: 1), timestamp: .zero, kind: .refund, account: AccountID(unchecked: "a"),
                                points: Points(10), balanceDelta: Points(-4), debtDelta: Points(6), balanceAfter: .zero,
                                idempotencyKey: IdempotencyKey(scope: .refund, id: "F"), requestHash: RequestHash(hex: ""))
        counters.apply(entry)
        #expect(counters.state == AccountState(balance: Points(-4), debt: Points(6)))
    }
}

@Suite struct Clock {
    @Test func readingsStrictlyIncreaseEvenWhenTimeStandsStillOrGoesBack() {
        var clock = HybridLogicalClock()
        let first = clock.tick(now: 1_000)
        let second = clock.tick(now: 1_000)
        let third = clock.tick(now: 900)
        let fourth = clock.tick(now: 2_000)
        #expect(first < second && second < third && third < fourth)
        #expect(fourth == HLCTimestamp(wallMilliseconds: 2_000, logical: 0))
    }

    @Test func observingARemoteReadingOrdersLaterEventsAfterIt() {
        var clock = HybridLogicalClock()
        clock.observe(HLCTimestamp(wallMilliseconds: 5_000, logical: 3))
        #expect(clock.tick(now: 1_000) == HLCTimestamp(wallMilliseconds: 5_000, logical: 4))
    }
}

@Suite struct Identifiers {
    @Test func contractAlphabetAndLengthAreEnforced() throws {
        #expect(try AccountID(validating: "family:abc-1.2_Z").rawValue == "family:abc-1.2_Z")
        #expect(throws: IdentifierError.empty) { try AccountID(validating: "") }
        #expect(throws: IdentifierError.tooLong(length: 129)) { try AccountID(validating: String(repeating: "a", count: 129)) }
        _ = try AccountID(validating: String(repeating: "a", count: 128))
        #expect(throws: IdentifierError.invalidCharacter(" ")) { try AccountID(validating: "a b") }
        #expect(throws: IdentifierError.invalidCharacter("é")) { try AccountID(validating: "café") }
        #expect(throws: IdentifierError.self) { try AccountID(validating: "a/b") }
        #expect(throws: IdentifierError.self) { try AccountID(validating: "a\u{0}") }
    }

    @Test func entryIDsRoundTripThroughText() {
        let id = EntryID(origin: NodeID(unchecked: "hq:main"), sequence: 42)
        #expect(id.description == "hq:main:42")
        #expect(EntryID(parsing: id.description) == id)
        #expect(EntryID(parsing: "nosequence") == nil)
        #expect(EntryID(parsing: "n:0") == nil)
    }

    @Test func digestNamesTheHeldEntries() {
        let a = VersionVector([nodes[0]: 3, nodes[1]: 5])
        var b = VersionVector([nodes[1]: 5])
        #expect(a.digest != b.digest)
        b.advance(nodes[0], to: 3)
        #expect(a.digest == b.digest)
        #expect(a.entryCount == 8)
        #expect(VersionVector([nodes[2]: 0]) == VersionVector())
    }

    @Test func requestHashIgnoresNothingThatMatters() {
        let base = PurchaseRequest(receipt: ReceiptID(unchecked: "R"), account: AccountID(unchecked: "a"), amount: Fen(100))
        var withItem = base
        withItem.items = [PurchaseItem(sku: SKU(unchecked: "s"), category: CategoryID(unchecked: "c"), amount: Fen(100))]
        #expect(WriteCommand.purchase(base).requestHash == WriteCommand.purchase(base).requestHash)
        #expect(WriteCommand.purchase(base).requestHash != WriteCommand.purchase(withItem).requestHash)
        #expect(WriteCommand.purchase(base).requestHash.hex.count == 64)
    }
}
