import PointMeshCore
import Testing

private let ann = AccountID(unchecked: "ann"), ben = AccountID(unchecked: "ben"), cat = AccountID(unchecked: "cat")
private let smiths = FamilyID(unchecked: "smiths"), jones = FamilyID(unchecked: "jones")
private let s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), s3 = NodeID(unchecked: "s3")
private let day: Int64 = 86_400_000

private func purchase(_ receipt: String, _ account: AccountID, fen: Int64) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(fen)))
}

/// A join or leave as the HTTP edge prepares it: keyed by the customer's membership entries so far.
private func membership<Kind: EntryKindRule>(_ kind: Kind.Type, _ family: FamilyID, _ account: AccountID, in ledger: MemoryLedger) -> PreparedWrite
where Kind.Request == MembershipRequest {
    let sequence = ledger.linkedEntries(FamilyMembership.memberLink(account)).count
    return PreparedWrite(kind, MembershipRequest(family: family, account: account), versions: sequence)
}

private func transfer(_ id: String, _ from: AccountID, _ to: AccountID, _ points: Int64) -> PreparedWrite {
    PreparedWrite(Transfer.self, Transfer.Request(request: RequestID(unchecked: id), from: from, to: to, points: Points(points)))
}

private func hold(_ id: String, _ account: AccountID) -> HoldRequest {
    HoldRequest(request: RequestID(unchecked: id), account: account, evidence: "CASE-\(id)", reason: "farming", operatorName: "Li Wei")
}

/// Applies `entries` in the given order, again and again, until each origin's entries are in
/// (a ledger takes an origin's entries in sequence, as gossip delivers them).
private func replica(_ entries: [LedgerEntry]) -> MemoryLedger {
    var ledger = MemoryLedger(origin: s3)
    for _ in 0..<entries.count { _ = ledger.apply(entries) }
    return ledger
}

@Suite struct Families {
    @Test func membershipRules() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(membership(FamilyJoin.self, smiths, ann, in: ledger), now: 1_000)
        #expect(throws: LedgerError.membershipUnchanged, "joining the family one is in changes nothing") {
            try ledger.write(membership(FamilyJoin.self, smiths, ann, in: ledger), now: 1_100)
        }
        #expect(throws: LedgerError.alreadyInFamily(ann, family: smiths)) { try ledger.write(membership(FamilyJoin.self, jones, ann, in: ledger), now: 1_200) }
        #expect(throws: LedgerError.poolCannotBeMember(smiths.pool)) { try ledger.write(membership(FamilyJoin.self, smiths, smiths.pool, in: ledger), now: 1_300) }
        #expect(throws: LedgerError.unknownFamily(jones)) { try ledger.write(membership(FamilyLeave.self, jones, ann, in: ledger), now: 1_400) }
        #expect(throws: LedgerError.notAMember(ben, family: smiths)) { try ledger.write(membership(FamilyLeave.self, smiths, ben, in: ledger), now: 1_500) }
        _ = try ledger.write(membership(FamilyJoin.self, smiths, ben, in: ledger), now: 1_600)
        #expect(try FamilyMembership.members(of: smiths, from: ledger) == [ann, ben])
        _ = try ledger.write(membership(FamilyLeave.self, smiths, ann, in: ledger), now: 1_700)
        #expect(throws: LedgerError.membershipUnchanged, "leaving again changes nothing") {
            try ledger.write(membership(FamilyLeave.self, smiths, ann, in: ledger), now: 1_800)
        }
        #expect(try FamilyMembership.members(of: smiths, from: ledger) == [ben])
        _ = try ledger.write(membership(FamilyJoin.self, jones, ann, in: ledger), now: 1_900)
        #expect(try FamilyMembership.family(of: ann, from: ledger) == jones, "after leaving, a customer may join another family")
        #expect(try FamilyMembership.family(of: smiths.pool, from: ledger) == smiths, "a pool belongs to its own family")
    }

    /// The same join sent twice with the same history behind it (a retry, or to two nodes) is
    /// one entry: the key counts the customer's membership entries.
    @Test func theSameJoinAtTwoNodesIsOneEntry() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        let joinA = membership(FamilyJoin.self, smiths, ann, in: a), joinB = membership(FamilyJoin.self, smiths, ann, in: b)
        #expect(joinA.key == joinB.key)
        _ = try a.write(joinA, now: 1_000)
        _ = try b.write(joinB, now: 1_001)
        let merged = replica(a.allEntries + b.allEntries)
        #expect(merged.duplicates.count == 1)
        #expect(try FamilyMembership.members(of: smiths, from: merged) == [ann])
    }

    /// Two cut-off stores put ann into two families; a transfer is decided at each on its own
    /// view. Whatever order the entries arrive in (every interleaving of the two stores'
    /// sequences: a's join before b's and after), every node settles on the join first in
    /// ledger order, and the transfer made on the losing join leaves no trace in balances.
    /// `ArrivalOrderTests.theFirstJoinWinsInEveryArrivalOrder` runs the same orders on SQLite.
    @Test func theFirstJoinWinsInEveryArrivalOrder() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        _ = try a.write(purchase("R-a", ann, fen: 10_000), now: 500)
        _ = try b.write(purchase("R-b", ben, fen: 100), now: 400)
        _ = b.apply(a.allEntries)
        _ = a.apply(b.allEntries)
        _ = try a.write(membership(FamilyJoin.self, smiths, ann, in: a), now: 1_000)
        _ = try a.write(membership(FamilyJoin.self, smiths, cat, in: a), now: 1_001)
        _ = try b.write(membership(FamilyJoin.self, jones, ann, in: b), now: 1_200)
        _ = try b.write(membership(FamilyJoin.self, jones, ben, in: b), now: 1_201)
        _ = try b.write(transfer("T-b", ann, ben, 40), now: 2_000)
        _ = try a.write(transfer("T-a", ann, cat, 10), now: 2_100)
        let fromA = ownEntries(of: a), fromB = ownEntries(of: b)
        let joins = [fromA[1].id, fromB[1].id]
        let orders = interleavings([fromA, fromB])
        #expect(orders.count == 70)
        #expect(Set(orders.map { $0.map(\.id).filter(joins.contains) }) == [joins, Array(joins.reversed())], "both joins arrive first in some order")
        for order in orders {
            let ledger = replayed(order, at: s3)
            let ids = order.map(\.id)
            #expect(try FamilyMembership.family(of: ann, from: ledger) == smiths, "\(ids)")
            #expect(try FamilyMembership.members(of: jones, from: ledger) == [ben], "\(ids)")
            let balances = [ann, ben, cat].map { ledger.accountState(of: $0, at: 3_000).balance.value }
            #expect(balances == [90, 1, 10], "ann keeps the 40 of the losing transfer; cat got 10 inside smiths: \(ids)")
        }
    }

    /// A transfer decided at a store that had not heard that the sender left: void everywhere.
    @Test func aTransferTheConvergedHistoryContradictsDoesNotStand() throws {
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        _ = try a.write(purchase("R1", ann, fen: 10_000), now: 100)
        _ = try a.write(membership(FamilyJoin.self, smiths, ann, in: a), now: 200)
        _ = try a.write(membership(FamilyJoin.self, smiths, ben, in: a), now: 300)
        _ = b.apply(a.allEntries)
        _ = try a.write(membership(FamilyLeave.self, smiths, ann, in: a), now: 1_000)
        guard case .append(let gift) = try b.write(transfer("T1", ann, ben, 30), now: 2_000) else { Issue.record("b refused"); return }
        #expect(b.accountState(of: ben, at: 2_500).balance == Points(30), "b decided on what it knew")
        _ = b.apply(a.allEntries)
        _ = a.apply(b.allEntries)
        for ledger in [a, b] {
            #expect(ledger.accountState(of: ann, at: 3_000).balance == Points(100))
            #expect(ledger.accountState(of: ben, at: 3_000).balance == .zero)
            #expect(try !FamilyCondition.stands(gift, in: ledger))
        }
    }

    /// The cooling-off period: a transfer is refused while either party joined less than the
    /// period ago, by the deciding node's clock; a rejoin starts the period again, and a change
    /// of pooling does not.
    @Test func aTransferWaitsOutTheCoolingOffPeriod() throws {
        let cooling = NodeSettings(transferCoolingOff: 30 * day)
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", ann, fen: 10_000), now: day)
        _ = try ledger.write(membership(FamilyJoin.self, smiths, ann, in: ledger), now: day)
        _ = try ledger.write(membership(FamilyJoin.self, smiths, ben, in: ledger), now: 10 * day)
        #expect(throws: LedgerError.coolingOff(ben, family: smiths, until: 40 * day)) {
            try ledger.write(transfer("T1", ann, ben, 10), now: 39 * day, settings: cooling)
        }
        #expect(throws: LedgerError.coolingOff(ben, family: smiths, until: 40 * day), "the pool waits for the member too") {
            try ledger.write(transfer("T2", smiths.pool, ben, 10), now: 39 * day, settings: cooling)
        }
        let pooling = PreparedWrite(FamilyJoin.self, MembershipRequest(family: smiths, account: ben, autoPool: true),
                                    versions: ledger.linkedEntries(FamilyMembership.memberLink(ben)).count)
        _ = try ledger.write(pooling, now: 39 * day)
        guard case .append(let gift) = try ledger.write(transfer("T3", ann, ben, 10), now: 40 * day, settings: cooling) else {
            Issue.record("refused after the period"); return
        }
        #expect(try FamilyCondition.stands(gift, in: ledger) && LotEvents.coolingOff(of: gift) == 30 * day)
        _ = try ledger.write(membership(FamilyLeave.self, smiths, ben, in: ledger), now: 41 * day)
        _ = try ledger.write(membership(FamilyJoin.self, smiths, ben, in: ledger), now: 42 * day)
        #expect(throws: LedgerError.coolingOff(ben, family: smiths, until: 72 * day)) {
            try ledger.write(transfer("T4", ben, ann, 5), now: 50 * day, settings: cooling)
        }
        #expect(throws: Never.self, "a node without the period decides at once") { try ledger.write(transfer("T5", ben, ann, 5), now: 50 * day) }
    }

    /// Family hopping across cut-off stores: a store that knows only a customer's first join
    /// lets a transfer through, but the customer had left and rejoined elsewhere days before,
    /// so on the converged history the transfer is inside the period and void on every node.
    @Test func aTransferInsideTheCoolingOffPeriodOnTheConvergedHistoryDoesNotStand() throws {
        let cooling = NodeSettings(transferCoolingOff: 30 * day)
        var a = MemoryLedger(origin: s1), b = MemoryLedger(origin: s2)
        _ = try a.write(purchase("R1", ann, fen: 10_000), now: day)
        _ = try a.write(membership(FamilyJoin.self, smiths, ann, in: a), now: day)
        _ = try a.write(membership(FamilyJoin.self, smiths, ben, in: a), now: day)
        _ = b.apply(a.allEntries)
        _ = try a.write(membership(FamilyLeave.self, smiths, ben, in: a), now: 40 * day)
        _ = try a.write(membership(FamilyJoin.self, smiths, ben, in: a), now: 40 * day + 1)
        guard case .append(let gift) = try b.write(transfer("T1", ann, ben, 30), now: 45 * day, settings: cooling) else {
            Issue.record("b refused"); return
        }
        _ = b.apply(a.allEntries)
        _ = a.apply(b.allEntries)
        for ledger in [a, b] {
            #expect(try !FamilyCondition.stands(gift, in: ledger))
            #expect(ledger.accountState(of: ann, at: 46 * day).balance == Points(100) && ledger.accountState(of: ben, at: 46 * day).balance == .zero)
        }
    }

    /// Transferred points keep their expiry dates: the soonest-expiring go first, one move per
    /// date, and the receiver's lots expire when the sender's would have.
    @Test func lotsMoveWithTheirExpiryDates() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", ann, fen: 3_000), now: 10 * day)
        _ = try ledger.write(purchase("R2", ann, fen: 5_000), now: 45 * day)
        _ = try ledger.write(purchase("R3", ann, fen: 7_000), now: 80 * day)
        let before = ledger.lotBook(of: ann).lots.map(\.expiresAt)
        #expect(Set(before).count == 3)
        for member in [ann, ben] { _ = try ledger.write(membership(FamilyJoin.self, smiths, member, in: ledger), now: 90 * day) }
        guard case .append(let entry) = try ledger.write(transfer("T1", ann, ben, 60), now: 91 * day) else { Issue.record("refused"); return }
        #expect(entry.moves.map(\.amount) == [Points(30), Points(30)], "30 from the first lot, 30 of the second")
        let received = ledger.lotBook(of: ben).lots
        #expect(received.map(\.expiresAt) == Array(before.prefix(2)))
        #expect(received.allSatisfy { $0.maturesAt == 91 * day })
        #expect(ledger.lotBook(of: ann).lots.map(\.remaining) == [Points(20), Points(70)])
        #expect(ledger.lotBook(of: ann).lots.map(\.expiresAt) == Array(before.suffix(2)))
        _ = try ledger.write(transfer("T2", ben, smiths.pool, 45), now: 92 * day)
        #expect(ledger.lotBook(of: smiths.pool).lots.map(\.expiresAt) == Array(before.prefix(2)))
        #expect(ledger.lotBook(of: smiths.pool).lots.map(\.remaining) == [Points(30), Points(15)])
    }

    /// A member who auto-pools earns into the pool, recorded as theirs (in their history, their
    /// balance unchanged); a refund takes the points back from the pool; a member with debt earns
    /// for itself until it is repaid; `auto_pool: false` stops it.
    /// Found by the long simulation run (seed 2980): one receipt rung up at two stores with the
    /// same body, at s1 where ben auto-pools (its points go to the pool) and at s2 where s2 has
    /// not heard of his join (they go to ben). Each store refunds its own copy; together the
    /// refunds pass the purchase, so on the converged history the later one (the pool's, at s1)
    /// is void. The pool's lots must not lose what the void refund took: the reference fold read
    /// a purchase's refunds among the account's own entries, where ben's refund is not.
    @Test func aVoidRefundOfAPooledCopyTakesNothingFromThePool() throws {
        var atS1 = MemoryLedger(origin: s1), atS2 = MemoryLedger(origin: s2)
        _ = try atS1.write(PreparedWrite(FamilyJoin.self, MembershipRequest(family: smiths, account: ben, autoPool: true), versions: 0), now: 1_000)
        _ = try atS1.write(purchase("R7", ben, fen: 1_059), now: 2_000)
        _ = try atS2.write(purchase("R7", ben, fen: 1_059), now: 3_000)
        _ = try atS2.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F30"), receipt: ReceiptID(unchecked: "R7"), amount: Fen(844))),
                           now: 4_000)
        let pooled = try atS1.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F14"), receipt: ReceiptID(unchecked: "R7"),
                                                                               amount: Fen(606))), now: 5_000)
        guard case .append(let voided) = pooled else { Issue.record("s1 refunds its copy"); return }
        #expect(voided.moves.first?.debit == LedgerAccount(smiths.pool))
        for _ in 0..<3 {
            _ = atS1.apply(atS2.allEntries)
            _ = atS2.apply(atS1.allEntries)
        }
        for ledger in [atS1, atS2] {
            #expect(ledger.voids.contains(voided.id), "refunds of 844 and 606 fen pass the purchase of 1,059: the later is void")
            // The pool holds the 10 points the counting copy credited, the void refund took none.
            #expect(ledger.lotBook(of: smiths.pool).summary(at: 10_000).spendable == Points(10))
            #expect(ledger.ledgerDigest() == atS1.ledgerDigest())
        }
    }

    @Test func autoPooledEarningsGoToThePool() throws {
        var ledger = MemoryLedger(origin: s1)
        let join = { (ledger: MemoryLedger, account: AccountID, autoPool: Bool?) in
            PreparedWrite(FamilyJoin.self, MembershipRequest(family: smiths, account: account, autoPool: autoPool),
                          versions: ledger.linkedEntries(FamilyMembership.memberLink(account)).count)
        }
        _ = try ledger.write(join(ledger, ann, true), now: 100)
        #expect(throws: LedgerError.membershipUnchanged) { try ledger.write(join(ledger, ann, true), now: 150) }
        #expect(throws: LedgerError.membershipUnchanged, "a plain join leaves the setting alone") { try ledger.write(join(ledger, ann, nil), now: 160) }
        guard case .append(let earning) = try ledger.write(purchase("R1", ann, fen: 10_000), now: 200) else { Issue.record("refused"); return }
        #expect(ledger.accountState(of: ann, at: 300).balance == .zero)
        #expect(ledger.accountState(of: smiths.pool, at: 300).balance == Points(100))
        #expect(earning.customerAccounts.contains(ann), "the earning is in the member's history")
        let answer = String(decoding: try Earn.response(earning, replayed: false), as: UTF8.self)
        #expect(answer.contains(#""account_id":"ann""#) && answer.contains(#""pooled_to":"family:smiths""#), "\(answer)")
        _ = try ledger.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R1"),
                                                                       amount: Fen(5_000))), now: 300)
        #expect(ledger.accountState(of: smiths.pool, at: 400).balance == Points(50), "the refund takes back from the pool")
        _ = try ledger.write(join(ledger, ann, false), now: 500)
        _ = try ledger.write(purchase("R2", ann, fen: 2_000), now: 600)
        #expect(ledger.accountState(of: ann, at: 700).balance == Points(20))
        #expect(ledger.accountState(of: smiths.pool, at: 700).balance == Points(50))
        // A member with debt: its earnings repay it rather than going to the pool.
        _ = try ledger.write(join(ledger, ben, nil), now: 800)
        _ = try ledger.write(purchase("R3", ben, fen: 3_000), now: 900)
        _ = try ledger.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: ben, points: Points(30))),
                             now: 910)
        _ = try ledger.write(join(ledger, ben, true), now: 920)
        _ = try ledger.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F3"), receipt: ReceiptID(unchecked: "R3"),
                                                                       amount: Fen(3_000))), now: 930)
        #expect(ledger.accountState(of: ben, at: 940).debt == Points(30))
        _ = try ledger.write(purchase("R4", ben, fen: 2_500), now: 950)
        #expect(ledger.accountState(of: ben, at: 960).debt == Points(5), "the earning repaid ben's own debt")
        #expect(ledger.accountState(of: smiths.pool, at: 960).balance == Points(50))
        _ = try ledger.write(purchase("R5", ben, fen: 1_000), now: 970)
        _ = try ledger.write(purchase("R6", ben, fen: 4_000), now: 980)
        #expect(ledger.accountState(of: ben, at: 990) == AccountState(balance: Points(5), debt: .zero, pending: .zero))
        #expect(ledger.accountState(of: smiths.pool, at: 990).balance == Points(90), "debt repaid, earnings go to the pool again")
    }

    @Test func transferValidity() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", ann, fen: 10_000), now: 100)
        for member in [ann, ben] { _ = try ledger.write(membership(FamilyJoin.self, smiths, member, in: ledger), now: 200) }
        _ = try ledger.write(membership(FamilyJoin.self, jones, cat, in: ledger), now: 300)
        #expect(throws: LedgerError.sameAccount(ann)) { try ledger.write(transfer("T0", ann, ann, 1), now: 400) }
        #expect(throws: LedgerError.notSameFamily(ann, cat, fromFamily: smiths, toFamily: jones)) { try ledger.write(transfer("T1", ann, cat, 1), now: 400) }
        #expect(throws: LedgerError.notSameFamily(ann, jones.pool, fromFamily: smiths, toFamily: jones)) { try ledger.write(transfer("T2", ann, jones.pool, 1), now: 400) }
        let stranger = AccountID(unchecked: "dan")
        #expect(throws: LedgerError.notSameFamily(stranger, ann, fromFamily: nil, toFamily: smiths)) { try ledger.write(transfer("T3", stranger, ann, 1), now: 400) }
        #expect(throws: LedgerError.insufficientPoints(account: ann, balance: Points(100), requested: Points(101))) {
            try ledger.write(transfer("T4", ann, ben, 101), now: 400)
        }
        _ = try ledger.write(transfer("T5", ann, smiths.pool, 50), now: 500)
        _ = try ledger.write(transfer("T6", smiths.pool, ben, 20), now: 600)
        #expect([ann, ben, smiths.pool].map { ledger.accountState(of: $0, at: 700).balance } == [Points(50), Points(20), Points(30)])
        guard case .replay = try ledger.write(transfer("T5", ann, smiths.pool, 50), now: 800) else { Issue.record("a retry moved again"); return }
        #expect(throws: LedgerError.idempotencyConflict(IdempotencyKey(scope: "transfer", id: "T5"))) { try ledger.write(transfer("T5", ann, ben, 50), now: 800) }
    }

    /// A frozen member can neither transfer nor redeem from the pool (it may receive); a pool
    /// redemption needs a member of the pool's family.
    @Test func freezesAndPoolRedemptions() throws {
        var ledger = MemoryLedger(origin: s1)
        _ = try ledger.write(purchase("R1", ann, fen: 10_000), now: 100)
        for member in [ann, ben] { _ = try ledger.write(membership(FamilyJoin.self, smiths, member, in: ledger), now: 200) }
        _ = try ledger.write(transfer("T1", ann, smiths.pool, 60), now: 300)
        let redeem = { (id: String, member: AccountID?) in
            PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: id), account: smiths.pool, points: Points(10), member: member))
        }
        #expect(throws: LedgerError.memberRequired(pool: smiths.pool)) { try ledger.write(redeem("Q0", nil), now: 400) }
        #expect(throws: LedgerError.notSameFamily(cat, smiths.pool, fromFamily: nil, toFamily: smiths)) { try ledger.write(redeem("Q1", cat), now: 400) }
        _ = try ledger.write(redeem("Q2", ben), now: 500)
        _ = try ledger.write(PreparedWrite(Freeze.self, hold("F1", ann)), now: 600)
        #expect(throws: LedgerError.accountFrozen(ann, since: 600)) { try ledger.write(transfer("T2", ann, ben, 1), now: 700) }
        #expect(throws: LedgerError.accountFrozen(ann, since: 600)) { try ledger.write(redeem("Q3", ann), now: 700) }
        _ = try ledger.write(transfer("T3", smiths.pool, ann, 5), now: 800)
        #expect(ledger.accountState(of: smiths.pool, at: 900).balance == Points(45), "a frozen account may still receive, like it earns")
    }
}
