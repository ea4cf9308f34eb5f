import PointMeshCore
import Testing

private let day = CivilCalendar.millisecondsPerDay
private let alice = AccountID(unchecked: "alice")
private let s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), hq = NodeID(unchecked: "hq")
/// 2026-01-15T00:00:00Z.
private let january15 = RFC3339.parse("2026-01-15T00:00:00Z")!

private func purchase(_ receipt: String, fen: Int64, account: AccountID = alice) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(fen)))
}

private func redeem(_ id: String, points: Int64, account: AccountID = alice) -> PreparedWrite {
    PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: id), account: account, points: Points(points)))
}

private func refund(_ id: String, receipt: String, fen: Int64) -> PreparedWrite {
    PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: id), receipt: ReceiptID(unchecked: receipt), amount: Fen(fen)))
}

private func policy(_ id: String, _ rule: ExpiryRule, effective: Int64) -> PreparedWrite {
    PreparedWrite(ExpiryPolicyKind.self, ExpiryPolicyKind.Request(version: RequestID(unchecked: id), rule: rule, effectiveAt: effective))
}

private func lot(_ sequence: Int64, _ points: Int64, expires: Int64, matures: Int64 = 0, source: String = "") -> Lot {
    Lot(id: LotID(entry: EntryID(origin: s1, sequence: sequence), move: 0), amount: Points(points), remaining: Points(points), earnedAt: 0,
        maturesAt: matures, expiresAt: expires, policy: RequestID(unchecked: "standard"), source: source)
}

@Suite struct LotArithmetic {
    @Test func spendingTakesTheLotsThatExpireSoonestFirst() {
        var book = LotBook()
        book.apply(.credit(lot(1, 50, expires: 300)))
        book.apply(.credit(lot(2, 30, expires: 100)))
        book.apply(.credit(lot(3, 20, expires: 200)))
        book.apply(.debit(Points(40), at: 10, preferring: nil))
        #expect(book.lots.map(\.remaining) == [Points(10), Points(50)], "30 from the lot expiring at 100, 10 from the one at 200")
        #expect(book.lots.map(\.expiresAt) == [200, 300])
        #expect(book.summary(at: 10).spendable == Points(60))
    }

    @Test func pointsExpireAtTheExactInstant() {
        var book = LotBook()
        book.apply(.credit(lot(1, 50, expires: 1_000)))
        #expect(book.summary(at: 999).spendable == Points(50))
        #expect(book.summary(at: 999).expiring == [ExpiringPoints(points: Points(50), expiresAt: 1_000)])
        #expect(book.summary(at: 1_000).spendable == .zero)
        #expect(book.summary(at: 1_000).expired == Points(50))
        // A debit at the expiry instant can't take them.
        book.apply(.debit(Points(10), at: 1_000, preferring: nil))
        #expect(book.deficit == Points(10))
        #expect(book.summary(at: 1_000).spendable == Points(-10))
    }

    @Test func aDeficitIsPaidByTheNextCredit() {
        var book = LotBook()
        book.apply(.credit(lot(1, 10, expires: 1_000)))
        book.apply(.debit(Points(25), at: 5, preferring: nil))
        #expect(book.deficit == Points(15) && book.lots.isEmpty)
        book.apply(.credit(lot(2, 40, expires: 2_000)))
        #expect(book.deficit == .zero && book.lots.map(\.remaining) == [Points(25)])
    }

    @Test func aPreferredSourceIsTakenFirstEvenWhilePending() {
        var book = LotBook()
        book.apply(.credit(lot(1, 50, expires: 500)))
        book.apply(.credit(lot(2, 30, expires: 900, matures: 100, source: "receipt:R2")))
        #expect(book.summary(at: 50).spendable == Points(50) && book.summary(at: 50).pending == Points(30))
        #expect(book.available(at: 50, preferring: .source("receipt:R2")) == Points(80))
        book.apply(.debit(Points(20), at: 50, preferring: .source("receipt:R2")))
        #expect(book.lots.map(\.remaining) == [Points(50), Points(10)])
        #expect(book.summary(at: 100).spendable == Points(60), "the window is over: the rest is a normal lot")
    }

    @Test func anExtensionGivesDaysToLotsExpiringInItsRange() {
        var book = LotBook()
        book.apply(.credit(lot(1, 10, expires: 10 * day)))
        book.apply(.credit(lot(2, 20, expires: 20 * day)))
        book.apply(.extend(LotExtension(expiring: (5 * day)...(15 * day), days: 30), at: 1))
        #expect(book.lots.map(\.expiresAt) == [20 * day, 40 * day], "only the lot expiring in the range moved; the order follows")
        #expect(book.lots.map(\.remaining) == [Points(20), Points(10)])
    }
}

@Suite struct ExpiryPolicyRules {
    @Test func monthsEndExpiresAtTheEndOfTheNthFullMonth() {
        #expect(ExpiryRule.monthsEnd(12).expiry(earnedAt: january15) == RFC3339.parse("2027-02-01T00:00:00Z"))
        #expect(ExpiryRule.monthsEnd(1).expiry(earnedAt: RFC3339.parse("2026-12-31T23:59:59Z")!) == RFC3339.parse("2027-02-01T00:00:00Z"))
        #expect(ExpiryRule.days(90).expiry(earnedAt: january15) == january15 + 90 * day)
    }

    @Test func theVersionInForceIsTheLastToTakeEffect() {
        let v1 = ExpiryPolicyVersion(id: RequestID(unchecked: "v1"), rule: .days(400), effectiveAt: 1_000, publishedAt: 0)
        let v2 = ExpiryPolicyVersion(id: RequestID(unchecked: "v2"), rule: .days(200), effectiveAt: 40 * day, publishedAt: 10)
        let policies = ExpiryPolicies([v2, v1])
        #expect(policies.inForce(at: 999) == .standard)
        #expect(policies.inForce(at: 1_000) == v1)
        #expect(policies.inForce(at: 40 * day - 1) == v1)
        #expect(policies.inForce(at: 40 * day) == v2)
        #expect(policies.voided.isEmpty)
    }

    /// Reproduction 5 of "Two stores deciding at once": cut off, one store publishes ten years
    /// effective now, the other 400 days a second later, each a lengthening where it was
    /// published. Merged, 400 days would shorten ten years with a second's notice: it is void,
    /// whichever was published first, and ten years stays in force.
    @Test(arguments: [false, true])
    func aShorteningTwoStoresMakeTogetherIsVoid(tenYearsFirst: Bool) {
        let now = january15
        let long = ExpiryPolicyVersion(id: RequestID(unchecked: "L3650"), rule: .days(3_650), effectiveAt: now, publishedAt: tenYearsFirst ? now : now + 5)
        let short = ExpiryPolicyVersion(id: RequestID(unchecked: "L400"), rule: .days(400), effectiveAt: now + 1_000, publishedAt: tenYearsFirst ? now + 5 : now)
        #expect(ExpiryPolicies().shorteningRefusal(long, now: long.publishedAt) == nil, "a lengthening where it was published")
        #expect(ExpiryPolicies().shorteningRefusal(short, now: short.publishedAt) == nil, "a lengthening where it was published")
        let merged = ExpiryPolicies([short, long])
        #expect(merged.versions == [long] && merged.voided == [short])
        #expect(merged.inForce(at: now + 2_000) == long)
        // With 30 days' notice the same shortening stands.
        var noticed = short
        noticed.effectiveAt = short.publishedAt + 30 * day
        #expect(ExpiryPolicies([noticed, long]).inForce(at: noticed.effectiveAt) == noticed)
    }

    @Test func aShorteningNeedsThirtyDaysNotice() {
        let policies = ExpiryPolicies()
        let now = january15
        let short = ExpiryPolicyVersion(id: RequestID(unchecked: "short"), rule: .monthsEnd(6), effectiveAt: now + 29 * day, publishedAt: now)
        #expect(policies.shorteningRefusal(short, now: now)?.earliest == now + 30 * day)
        var noticed = short
        noticed.effectiveAt = now + 30 * day
        #expect(policies.shorteningRefusal(noticed, now: now) == nil)
        let longer = ExpiryPolicyVersion(id: RequestID(unchecked: "long"), rule: .monthsEnd(24), effectiveAt: now, publishedAt: now)
        #expect(policies.shorteningRefusal(longer, now: now) == nil, "a lengthening may take effect at once")
        // Days against months: 365 days is shorter than some lots under months_end 12.
        #expect(ExpiryRule.days(365).isShorter(than: .monthsEnd(12)))
        #expect(!ExpiryRule.days(400).isShorter(than: .monthsEnd(12)))
        #expect(ExpiryRule.monthsEnd(12).isShorter(than: .days(366)))
    }

    @Test func aPublishedVersionGovernsLotsEarnedFromItsEffectiveInstantOnly() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: january15)
        _ = try ledger.write(policy("v2", .days(60), effective: january15 + 40 * day), now: january15 + day)
        _ = try ledger.write(purchase("R2", fen: 5_000), now: january15 + 39 * day)
        _ = try ledger.write(purchase("R3", fen: 2_000), now: january15 + 40 * day)
        let lots = ledger.lotBook(of: alice).lots
        #expect(lots.map(\.policy.rawValue) == ["v2", "standard", "standard"])
        #expect(lots.map(\.expiresAt) == [january15 + 100 * day, RFC3339.parse("2027-03-01T00:00:00Z")!, RFC3339.parse("2027-02-01T00:00:00Z")!]
            .sorted())
    }

    @Test func aShorteningWithoutNoticeIsRefusedAndWritesNothing() throws {
        var ledger = MemoryLedger(origin: hq)
        #expect(throws: LedgerError.noticeTooShort(version: RequestID(unchecked: "v2"), shortens: RequestID(unchecked: "standard"),
                                                   earliest: january15 + 30 * day)) {
            try ledger.write(policy("v2", .days(30), effective: january15 + 10 * day), now: january15)
        }
        #expect(ledger.allEntries.isEmpty)
    }
}

@Suite struct LotsAcrossNodes {
    /// A redemption made at a cut-off store before a lot expired reaches a node after the
    /// expiry: it still consumed that lot there, so the same points don't also count as expired.
    @Test func aLateRedemptionConsumesTheLotThatHasExpiredSince() throws {
        var store = MemoryLedger(origin: s1), office = MemoryLedger(origin: s2)
        _ = try store.write(policy("short", .days(400), effective: january15 - day), now: january15 - 2 * day)
        _ = try store.write(purchase("R1", fen: 10_000), now: january15)
        _ = office.apply(store.allEntries)
        let expiry = january15 + 400 * day
        _ = try store.write(redeem("Q1", points: 70), now: expiry - 1)
        let later = expiry + day
        #expect(office.accountState(of: alice, at: later) == AccountState(balance: .zero, debt: .zero))
        #expect(office.lotBook(of: alice).summary(at: later).expired == Points(100))
        _ = office.apply(store.allEntries)
        #expect(office.lotBook(of: alice).summary(at: later).expired == Points(30))
        #expect(office.lotBook(of: alice) == store.lotBook(of: alice))
    }

    /// Every order of arrival gives the same book: every interleaving of the two stores'
    /// sequences. `ArrivalOrderTests.theBookIsTheSameInEveryArrivalOrder` runs them on SQLite.
    @Test func theBookIsTheSameWhateverTheArrivalOrder() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        _ = try a.write(purchase("R1", fen: 10_000), now: january15)
        _ = try b.write(purchase("R2", fen: 5_000), now: january15 + 10)
        _ = b.apply(a.allEntries)
        _ = try b.write(redeem("Q1", points: 120), now: january15 + 20)
        _ = try a.write(purchase("R3", fen: 3_000), now: january15 + 15)
        let orders = interleavings([ownEntries(of: a), ownEntries(of: b)])
        #expect(orders.count == 6)
        _ = b.apply(a.allEntries)
        let converged = b.lotBook(of: alice)
        #expect(converged.lots.map(\.remaining).reduce(.zero, +) == Points(60), "100 + 50 + 30 earned, 120 spent")
        for order in orders {
            #expect(replayed(order, at: hq).lotBook(of: alice) == converged, "\(order.map(\.id))")
        }
    }
}

@Suite struct PendingPoints {
    @Test func pointsInsideTheReturnWindowArePendingThenSpendable() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: january15, settings: NodeSettings(returnWindow: 7 * day))
        let state = ledger.accountState(of: alice, at: january15 + day)
        #expect(state.balance == .zero && state.pending == Points(100))
        #expect(throws: LedgerError.insufficientPoints(account: alice, balance: .zero, requested: Points(10))) {
            try ledger.write(redeem("Q1", points: 10), now: january15 + day)
        }
        #expect(ledger.accountState(of: alice, at: january15 + 7 * day) == AccountState(balance: Points(100), debt: .zero))
    }

    @Test func aRefundInsideTheWindowCancelsThePointsWithoutDebt() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R0", fen: 2_000), now: january15 - 30 * day, settings: NodeSettings(returnWindow: 7 * day))
        _ = try ledger.write(purchase("R1", fen: 10_000), now: january15, settings: NodeSettings(returnWindow: 7 * day))
        _ = try ledger.write(refund("F1", receipt: "R1", fen: 6_000), now: january15 + day, settings: NodeSettings(returnWindow: 7 * day))
        let state = ledger.accountState(of: alice, at: january15 + day)
        #expect(state == AccountState(balance: Points(20), debt: .zero, pending: Points(40)), "the other lot is untouched")
        #expect(ledger.accountState(of: alice, at: january15 + 7 * day).balance == Points(60))
    }

    @Test func withoutAWindowARefundOfSpentPointsMakesDebt() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: january15)
        _ = try ledger.write(redeem("Q1", points: 80), now: january15 + 1)
        _ = try ledger.write(refund("F1", receipt: "R1", fen: 10_000), now: january15 + 2)
        #expect(ledger.accountState(of: alice, at: january15 + 3) == AccountState(balance: .zero, debt: Points(80)))
    }
}

@Suite struct Compensations {
    private func compensation(_ batch: String, _ action: Compensation.Action, accounts: [String], expiring: ClosedRange<Int64>? = nil,
                              days: Int64? = nil, points: Int64? = nil) -> PreparedWrite {
        var request = Compensation.Request(batch: RequestID(unchecked: batch), part: nil, action: action, reason: "outage",
                                           reference: "INC-1", accounts: accounts.map(AccountID.init(unchecked:)))
        request.expiring = expiring
        request.days = days
        request.points = points.map(Points.init)
        return PreparedWrite(Compensation.self, request)
    }

    @Test func anExtensionRevivesAndLengthensLotsInItsRange() throws {
        var ledger = MemoryLedger(origin: hq)
        _ = try ledger.write(policy("d30", .days(30), effective: january15 - day), now: january15 - 31 * day)
        _ = try ledger.write(purchase("R1", fen: 10_000), now: january15)
        _ = try ledger.write(purchase("R2", fen: 5_000), now: january15 + 20 * day)
        let expiry = january15 + 30 * day
        #expect(ledger.accountState(of: alice, at: expiry + day).balance == Points(50))
        _ = try ledger.write(compensation("B1", .extendExpiry, accounts: ["alice"], expiring: (expiry - day)...(expiry + day), days: 14),
                             now: expiry + 2 * day)
        #expect(ledger.accountState(of: alice, at: expiry + 2 * day).balance == Points(150))
        #expect(ledger.lotBook(of: alice).lots.first?.expiresAt == expiry + 14 * day)
    }

    @Test func aGrantIsALotOfItsOwnAndUnknownAccountsAreRefused() throws {
        var ledger = MemoryLedger(origin: hq)
        _ = try ledger.write(purchase("R1", fen: 1_000), now: january15)
        _ = try ledger.write(compensation("B2", .grant, accounts: ["alice"], points: 25), now: january15 + 1)
        #expect(ledger.accountState(of: alice, at: january15 + 2).balance == Points(35))
        #expect(ledger.lotBook(of: alice).lots.count == 2)
        let before = ledger.allEntries.count
        #expect(throws: LedgerError.unknownAccount(AccountID(unchecked: "nobody"), field: "accounts[1]")) {
            try ledger.write(compensation("B3", .grant, accounts: ["alice", "nobody"], points: 5), now: january15 + 3)
        }
        #expect(ledger.allEntries.count == before)
    }
}

/// The balances decisions answer with are computed from sums (so a write reads no lot); they
/// must equal applying the write's events to the whole book.
@Suite struct AnswerArithmetic {
    private func randomBook(_ random: inout UInt64) -> LotBook {
        func next() -> Int64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64(random >> 33)
        }
        var book = LotBook()
        for sequence in 1...Int64(1 + next() % 6) {
            book.apply(.credit(lot(sequence, 1 + next() % 50, expires: 100 + next() % 200, matures: next() % 3 == 0 ? 80 : 0,
                                   source: "receipt:R\(sequence)")))
        }
        if next() % 3 == 0 { book.apply(.debit(Points(next() % 300), at: 10, preferring: nil)) }
        return book
    }

    @Test func earningAndRefundAnswersMatchTheBook() {
        var random: UInt64 = 42
        for round in 0..<2_000 {
            let book = randomBook(&random)
            let now: Int64 = 50
            let summary = book.summary(at: now)
            let earned = Points(Int64(round % 40)), repaid = Points(Int64(round % 7) * 5).clamped(to: earned)
            for pending in [false, true] {
                var after = book
                let source = "receipt:NEW"
                let new = Lot(id: LotID(entry: EntryID(origin: s2, sequence: 1), move: 0), amount: earned, remaining: earned, earnedAt: now,
                              maturesAt: pending ? now + 10 : now, expiresAt: 1_000, policy: RequestID(unchecked: "standard"), source: source)
                after.apply(.credit(new))
                if repaid > .zero { after.apply(.debit(repaid, at: now, preferring: pending ? .source(source) : nil)) }
                #expect(summary.spendableAfterEarning(earned, repaying: repaid, pending: pending) == after.summary(at: now).spendable,
                        "round \(round), pending \(pending)")
            }
            for source in Set(book.lots.map(\.source)) {
                let pendingFromSource = book.lots.filter { $0.source == source && $0.isPending(at: now) }.reduce(Points.zero) { $0 + $1.remaining }
                let taken = min(Points(Int64(round % 60)), max(.zero, book.available(at: now, preferring: .source(source))))
                var after = book
                after.apply(.debit(taken, at: now, preferring: .source(source)))
                #expect(summary.spendableAfterDebit(taken, pendingFromSource: pendingFromSource) == after.summary(at: now).spendable)
            }
        }
    }
}

private extension Points {
    func clamped(to limit: Points) -> Points { min(self, limit) }
}

/// The facts the writer keeps of an account between reads (`StableAccountFacts`): whenever
/// they claim to hold, they are what summing the book's lots gives.
@Suite struct StableAccountFactsTests {
    private static func summed(_ book: LotBook, at instant: Int64) -> AccountFacts {
        var summary = book.summary(at: instant, expiringLimit: 0)
        summary.expired = .zero
        return AccountFacts(summary: summary, debt: .zero)
    }

    /// What the store reads with the facts: the first instant after `instant` at which an
    /// unexpired lot matures or expires.
    private static func nextChange(_ book: LotBook, after instant: Int64) -> Int64? {
        book.lots.filter { !$0.isExpired(at: instant) }.flatMap { [$0.maturesAt, $0.expiresAt] }.filter { $0 > instant }.min()
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func keptFactsEqualTheSumWheneverTheyClaimToHold(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var held = 0, dropped = 0
        for _ in 0..<200 {
            var book = LotBook(), sequence: Int64 = 0
            func randomLot(at instant: Int64) -> Lot {
                sequence += 1
                let matures = instant + (random.next() % 3 == 0 ? Int64(random.next() % 10) * day : 0)
                var credited = lot(sequence, Int64(1 + random.next() % 100), expires: matures + Int64(random.next() % 30) * day, matures: matures)
                credited.green = random.next() % 4 == 0
                credited.earnedAt = instant
                return credited
            }
            var now = Int64(random.next() % 20) * day
            for _ in 0..<Int(random.next() % 6) { book.apply(.credit(randomLot(at: now - Int64(random.next() % 20) * day))) }
            var stable = StableAccountFacts(Self.summed(book, at: now), readAt: now, nextChange: Self.nextChange(book, after: now))
            for _ in 0..<8 {
                now += Int64(random.next() % 4) * day / 2
                if random.next() % 2 == 0 {
                    let credited = randomLot(at: now)
                    book.apply(.credit(credited))
                    guard stable.credit(credited, at: now) else { dropped += 1; break }
                }
                let instant = now + Int64(random.next() % 5) * day
                if let kept = stable.facts(at: instant) {
                    held += 1
                    #expect(kept == Self.summed(book, at: instant), "at day \(instant / day)")
                }
                #expect(stable.facts(at: stable.from - 1) == nil, "an instant before the read can't be answered")
            }
        }
        #expect(held > 300 && dropped > 10, "both cases must occur: \(held) held, \(dropped) dropped")
    }

    @Test func aCreditAfterTheFirstChangeIsRefused() {
        let book = LotBook(lots: [lot(1, 10, expires: 5 * day)], deficit: .zero)
        var stable = StableAccountFacts(Self.summed(book, at: 0), readAt: 0, nextChange: 5 * day)
        #expect(stable.facts(at: 5 * day - 1)?.summary.spendable == Points(10))
        #expect(stable.facts(at: 5 * day) == nil, "the lot expired then")
        let accepted = stable.credit(lot(2, 3, expires: 9 * day), at: 5 * day)
        #expect(!accepted)
    }
}
