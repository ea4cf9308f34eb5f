import PointMeshCore
import Testing

private let nodes = (0..<4).map { NodeID(unchecked: "n\($0)") }

/// A random ledger of every kind of write, at random nodes, for conservation checks.
private func randomLedgers(seed: Int) throws -> [MemoryLedger] {
    var random = SplitMix64(seed: UInt64(seed))
    var ledgers = nodes.map { MemoryLedger(origin: $0) }
    let accounts = ["a", "b", "c", "family:f"].map(AccountID.init(unchecked:))
    for step in 0..<120 {
        let node = Int(random.next() % UInt64(nodes.count))
        let account = accounts[Int(random.next() % UInt64(accounts.count))]
        let write: PreparedWrite
        switch random.next() % 3 {
        case 0:
            write = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R\(random.next() % 40)"), account: account,
                                                          amount: Fen(Int64(random.next() % 50_000))))
        case 1:
            write = PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F\(step)"), receipt: ReceiptID(unchecked: "R\(random.next() % 40)"),
                                                              amount: Fen(Int64(1 + random.next() % 20_000))))
        default:
            write = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(step)"), account: account,
                                                                      points: Points(Int64(1 + random.next() % 300))))
        }
        _ = try? ledgers[node].write(write, now: Int64(step))
        // Now and then a node catches up with another, so duplicates and debt both happen.
        if random.next() % 4 == 0 {
            let from = Int(random.next() % UInt64(nodes.count))
            for origin in nodes { _ = ledgers[node].apply(ledgers[from].entries(of: origin, after: ledgers[node].versionVector()[origin], limit: 1_000)) }
        }
    }
    return ledgers
}

@Suite struct Conservation {
    /// Every move debits one account and credits another, so over any set of entries the
    /// balances of all accounts (customers, pools and system accounts) sum to zero, per asset,
    /// posted and pending alike; and every node that holds the same entries holds the same
    /// balances whatever order they came in.
    @Test(arguments: 0..<50)
    func allAccountsSumToZeroAndReplicasAgree(seed: Int) throws {
        var ledgers = try randomLedgers(seed: seed)
        for ledger in ledgers {
            var totals: [Asset: Balance] = [:]
            for (key, perOrigin) in ledger.balances { totals[key.asset, default: Balance()] += perOrigin.values.reduce(Balance(), +) }
            // Customers' points are their lots, not counters.
            for account in ledger.customerAccounts {
                let book = ledger.lotBook(of: account)
                totals[.points, default: Balance()] += Balance(creditsPosted: (book.lots.reduce(Points.zero) { $0 + $1.remaining } - book.deficit).value)
            }
            for (asset, total) in totals {
                #expect(total.posted == .zero && total.creditsPending == total.debitsPending, "seed \(seed), \(asset): \(total)")
            }
        }
        // Everyone learns everything, in a different order each.
        for index in ledgers.indices {
            var order = SplitMix64(seed: UInt64(seed * 31 + index))
            for origin in nodes.shuffled(using: &order) {
                for other in ledgers.indices {
                    _ = ledgers[index].apply(ledgers[other].entries(of: origin, after: ledgers[index].versionVector()[origin], limit: 1_000))
                }
            }
        }
        for ledger in ledgers.dropFirst() {
            #expect(ledger.versionVector() == ledgers[0].versionVector())
            #expect(ledger.balances.mapValues { $0.values.reduce(Balance(), +) } == ledgers[0].balances.mapValues { $0.values.reduce(Balance(), +) })
            #expect(ledger.customerAccounts.map { ledger.lotBook(of: $0) } == ledgers[0].customerAccounts.map { ledgers[0].lotBook(of: $0) })
        }
    }

    /// Two-phase moves: pending points show apart from the spendable balance; posting makes
    /// them final, voiding cancels them; either way in any order of arrival.
    @Test func pendingMovesPostOrVoid() {
        let store = NodeID(unchecked: "s"), alice = LedgerAccount(AccountID(unchecked: "alice"))
        let pending = Move(debit: .issued(by: store), credit: alice, amount: Points(30), phase: .pending)
        let ref = MoveRef(entry: EntryID(origin: store, sequence: 1), index: 0)
        let post = Move(debit: .issued(by: store), credit: alice, amount: Points(30), phase: .post(ref))
        let void = Move(debit: .issued(by: store), credit: alice, amount: Points(30), phase: .void(ref))
        let held = MoveEffects.deltas(of: [pending])[BalanceKey(alice)] ?? Balance()
        #expect(held.available == .zero && held.pendingIn == Points(30))
        let posted = MoveEffects.deltas(of: [pending, post])[BalanceKey(alice)] ?? Balance()
        #expect(posted.available == Points(30) && posted.pendingIn == .zero)
        let voided = MoveEffects.deltas(of: [void, pending])[BalanceKey(alice)] ?? Balance()
        #expect(voided == Balance())
        // A pending debit reserves points out of the spendable balance at once.
        let hold = Move(debit: alice, credit: .redeemed(reward: nil), amount: Points(10), phase: .pending)
        let afterHold = MoveEffects.deltas(of: [Move(debit: .issued(by: store), credit: alice, amount: Points(50)), hold])[BalanceKey(alice)] ?? Balance()
        #expect(afterHold.available == Points(40) && afterHold.posted == Points(50))
    }

    /// One customer's change (every write's answer) is what the balance-by-balance changes of
    /// the same moves give that customer: over generated moves of every phase and asset, a
    /// customer on either side or both, and system accounts.
    @Test func oneCustomersChangeIsWhatTheBalanceChangesGiveIt() {
        var random = SplitMix64(seed: 11)
        let store = NodeID(unchecked: "s")
        let accounts = [LedgerAccount(AccountID(unchecked: "alice")), LedgerAccount(AccountID(unchecked: "bob")), .issued(by: store), .debtOwed]
        let ref = MoveRef(entry: EntryID(origin: store, sequence: 1), index: 0)
        let phases: [MovePhase] = [.posted, .pending, .post(ref), .void(ref)]
        for _ in 0..<500 {
            let moves = (0..<Int(1 + random.next() % 12)).map { _ in
                Move(debit: accounts[Int(random.next() % 4)], credit: accounts[Int(random.next() % 4)], amount: Points(Int64(random.next() % 1_000)),
                     asset: random.next() % 3 == 0 ? .debt : .points, phase: phases[Int(random.next() % 4)])
            }
            for account in accounts {
                var points = Points.zero, debt = Points.zero
                for (key, delta) in MoveEffects.changes(of: moves) where key.account == account {
                    if key.asset == .points { points += delta.posted } else { debt += delta.posted }
                }
                let change = MoveEffects.change(of: moves, for: account)
                #expect(change.points == points && change.debt == debt, "\(account) in \(moves)")
            }
        }
    }
}

@Suite struct ClocksAndIds {
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

    /// The hash is over what the request means: key order and whitespace don't change it, every
    /// field does.
    @Test func requestHashIgnoresNothingThatMatters() throws {
        let base = Earn.Request(receipt: ReceiptID(unchecked: "R"), account: AccountID(unchecked: "a"), amount: Fen(100))
        let hash = PreparedWrite(Earn.self, base).hash
        let compact = try PreparedWrite.parse(Earn.self, body: Array(#"{"receipt_id":"R","account_id":"a","amount_fen":100}"#.utf8))
        let spaced = try PreparedWrite.parse(Earn.self, body: Array(#"{ "amount_fen" : 100,"account_id": "a",  "receipt_id":"R" }"#.utf8))
        #expect(compact.hash == hash && spaced.hash == hash)
        var withItem = base
        withItem.items = [PurchaseItem(sku: SKU(unchecked: "s"), category: CategoryID(unchecked: "c"), amount: Fen(100))]
        var otherAccount = base, otherAmount = base, otherReceipt = base, overridden = base
        otherAccount.account = AccountID(unchecked: "b")
        otherAmount.amount = Fen(101)
        otherReceipt.receipt = ReceiptID(unchecked: "R2")
        overridden.budgetOverride = "launch"
        let hashes = [base, withItem, otherAccount, otherAmount, otherReceipt, overridden].map { PreparedWrite(Earn.self, $0).hash }
        #expect(Set(hashes).count == hashes.count, "each field changes the hash")
        #expect(hash.hex.count == 64)
    }
}
