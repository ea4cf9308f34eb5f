import PointMeshCore
import Testing

private let alice = AccountID(unchecked: "alice"), bob = AccountID(unchecked: "bob")
private let s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), hq = NodeID(unchecked: "hq")
private let day = CivilCalendar.millisecondsPerDay
private let underRights = NodeSettings(spendingRights: true)

private func lot(_ origin: NodeID, _ sequence: Int64, _ points: Int64, expires: Int64, matures: Int64 = 0, green: Bool = false) -> Lot {
    Lot(id: LotID(entry: EntryID(origin: origin, sequence: sequence), move: 0), amount: Points(points), remaining: Points(points), earnedAt: 0,
        maturesAt: matures, expiresAt: expires, policy: RequestID(unchecked: "standard"), source: "receipt:\(origin)-\(sequence)", green: green)
}

private func held(by node: NodeID) -> LotPreference { LotPreference(heldBy: node) }

@Suite struct SpendingRightsArithmetic {
    @Test func aCreditIsHeldByTheNodeWhoseEntryCreditedIt() {
        var book = LotBook()
        book.apply(.credit(lot(s1, 1, 40, expires: 100)))
        book.apply(.credit(lot(s2, 1, 25, expires: 50)))
        #expect(book.rights(of: s1, at: 10) == HeldRights(points: Points(40)))
        #expect(book.rightsByHolder(at: 10) == [s1: Points(40), s2: Points(25)])
    }

    @Test func aDebitUnderRightsTakesOnlyItsHoldersLotsSoonestFirstAndTheRestIsDeficit() {
        var book = LotBook()
        book.apply(.credit(lot(s1, 1, 40, expires: 300)))
        book.apply(.credit(lot(s2, 1, 25, expires: 50)))
        book.apply(.credit(lot(s1, 2, 10, expires: 200)))
        book.apply(.debit(Points(15), at: 10, preferring: held(by: s1)))
        #expect(book.lot(LotID(entry: EntryID(origin: s2, sequence: 1), move: 0))?.remaining == Points(25), "s2's sooner lot is not s1's to spend")
        #expect(book.lot(LotID(entry: EntryID(origin: s1, sequence: 2), move: 0)) == nil, "s1's soonest lot went first")
        #expect(book.rights(of: s1, at: 10).points == Points(35))
        book.apply(.debit(Points(40), at: 10, preferring: held(by: s1)))
        #expect(book.deficit == Points(5), "past its rights a debit overdraws, even with another holder's points left")
        #expect(book.summary(at: 10).spendable == Points(20))
        #expect(book.available(at: 10, preferring: held(by: s2)) == Points(20))
    }

    @Test func aDebitWithoutRightsTakesAnyHoldersLots() {
        var book = LotBook()
        book.apply(.credit(lot(s1, 1, 40, expires: 300)))
        book.apply(.credit(lot(s2, 1, 25, expires: 50)))
        book.apply(.debit(Points(30), at: 10, preferring: nil))
        #expect(book.rightsByHolder(at: 10) == [s1: Points(35)], "an entry decided before spending rights takes soonest first chain-wide")
    }

    @Test func aGrantHandsEveryUnexpiredLotOfTheGiverAndNoOther() {
        var book = LotBook()
        book.apply(.credit(lot(s1, 1, 40, expires: 300)))
        book.apply(.credit(lot(s1, 2, 7, expires: 20)))
        book.apply(.credit(lot(s1, 3, 9, expires: 500, matures: 100)))
        book.apply(.credit(lot(hq, 1, 5, expires: 300)))
        let changed = book.apply(.grant(RightsHandover(from: s1, to: s2), at: 50))
        #expect(Set(changed) == [LotID(entry: EntryID(origin: s1, sequence: 1), move: 0), LotID(entry: EntryID(origin: s1, sequence: 3), move: 0)])
        #expect(book.rightsByHolder(at: 150) == [s2: Points(49), hq: Points(5)], "the pending lot went too; hq's stayed")
        #expect(book.lot(LotID(entry: EntryID(origin: s1, sequence: 2), move: 0))?.holder == s1, "an expired lot stays with its holder")
        book.apply(.debit(Points(45), at: 150, preferring: held(by: s2)))
        #expect(book.deficit == .zero && book.rights(of: s2, at: 150).points == Points(4))
    }

    /// Random credits at random nodes, debits each decided within what its node holds, and
    /// grants between holders: no point is ever overdrawn, taken twice or lost, and the rights
    /// held always sum to the spendable balance.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func rightsAlwaysSumToTheSpendableBalance(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let nodes = [s1, s2, hq]
        var book = LotBook(), sequences: [NodeID: Int64] = [:], credited = Points.zero, debited = Points.zero
        var now: Int64 = 0, grants = 0, debits = 0
        for _ in 0..<400 {
            now += Int64(random.next() % 3) * day / 4
            let node = nodes[Int(random.next() % 3)]
            switch random.next() % 4 {
            case 0, 1:
                sequences[node, default: 0] += 1
                let points = Int64(1 + random.next() % 50)
                let matures = random.next() % 4 == 0 ? now + day : now
                var credit = lot(node, sequences[node]!, points, expires: matures + Int64(1 + random.next() % 20) * day, matures: matures,
                                 green: random.next() % 3 == 0)
                credit.earnedAt = now
                book.apply(.credit(credit))
                credited += Points(points)
            case 2:
                let rights = book.rights(of: node, at: now).points
                guard rights > .zero else { continue }
                let amount = Points(Int64(1 + random.next() % UInt64(rights.value)))
                book.apply(.debit(amount, at: now, preferring: held(by: node)))
                debited += amount
                debits += 1
            default:
                let receiver = nodes[Int(random.next() % 3)]
                guard receiver != node else { continue }
                book.apply(.grant(RightsHandover(from: node, to: receiver), at: now))
                grants += 1
            }
            #expect(book.deficit == .zero, "a debit within its node's rights never overdraws")
            let summary = book.summary(at: now)
            #expect(book.rightsByHolder(at: now).values.reduce(.zero, +) == summary.spendable)
            let held = book.lots.reduce(Points.zero) { $0 + $1.remaining }
            #expect(held == credited - debited, "every point is in exactly one lot")
            #expect(book.lots.allSatisfy { $0.remaining > .zero && $0.remaining <= $0.amount })
        }
        #expect(grants > 20 && debits > 20)
    }
}

@Suite struct SpendingRightsDecisions {
    private func earn(_ receipt: String, fen: Int64) -> PreparedWrite {
        PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: alice, amount: Fen(fen)))
    }

    private func redeem(_ id: String, points: Int64) -> PreparedWrite {
        PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: id), account: alice, points: Points(points)))
    }

    private func grant(_ request: String, to receiver: NodeID) -> PreparedWrite {
        PreparedWrite(RightsGrant.self, RightsGrant.Request(account: alice, receiver: receiver, request: RequestID(unchecked: request)))
    }

    private func appended(_ decision: WriteDecision) throws -> LedgerEntry {
        guard case .append(let entry) = decision else { throw LedgerError.nothingOwed }
        return entry
    }

    @Test func aNodeSpendsOnlyTheRightsItHoldsUntilAGrantHandsItTheRest() throws {
        var first = MemoryLedger(origin: s1), second = MemoryLedger(origin: s2)
        let earning = try appended(try first.write(earn("R1", fen: 10_000), now: 1_000, settings: underRights))
        _ = second.apply([earning])
        #expect(throws: LedgerError.insufficientPointsOffline(account: alice, servable: .zero, requested: Points(60))) {
            try second.write(redeem("Q1", points: 60), now: 2_000, settings: underRights)
        }
        let handed = try appended(try first.write(grant("g1", to: s2), now: 3_000, settings: underRights))
        #expect(try RightsGrant.granted(handed) == (alice, s2, Points(100)))
        #expect(handed.moves.isEmpty)
        _ = second.apply([handed])
        let spent = try appended(try second.write(redeem("Q1", points: 60), now: 4_000, settings: underRights))
        #expect(try LotEvents.isDecidedUnderRights(spent))
        #expect(throws: LedgerError.insufficientPointsOffline(account: alice, servable: .zero, requested: Points(10))) {
            try first.write(redeem("Q2", points: 10), now: 4_500, settings: underRights)
        }
        _ = first.apply([spent])
        for ledger in [first, second] {
            #expect(ledger.lotBook(of: alice).rightsByHolder(at: 5_000) == [s2: Points(40)])
            #expect(ledger.accountState(of: alice, at: 5_000).balance == Points(40))
        }
    }

    @Test func withoutRightsANodeSpendsWhatAnyNodeHolds() throws {
        var first = MemoryLedger(origin: s1), second = MemoryLedger(origin: s2)
        _ = second.apply([try appended(try first.write(earn("R1", fen: 10_000), now: 1_000))])
        let spent = try appended(try second.write(redeem("Q1", points: 60), now: 2_000))
        #expect(try !LotEvents.isDecidedUnderRights(spent))
        #expect(second.lotBook(of: alice).rightsByHolder(at: 3_000) == [s1: Points(40)])
    }

    @Test func aRefundClawsBackOnlyFromTheRefundingNodesLotsAndTheRestIsDebt() throws {
        var first = MemoryLedger(origin: s1), second = MemoryLedger(origin: s2)
        _ = second.apply([try appended(try first.write(earn("R1", fen: 10_000), now: 1_000, settings: underRights))])
        let refund = PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R1"), amount: Fen(4_000)))
        #expect(throws: LedgerError.insufficientPointsOffline(account: alice, servable: .zero, requested: Points(40)), "first the node asks s1") {
            try second.write(refund, now: 2_000, settings: underRights)
        }
        let entry = try appended(try second.write(refund, now: 2_000, settings: underRights, holdersAsked: HoldersAsked()))
        #expect(MoveEffects.change(of: entry.moves, for: LedgerAccount(alice)).debt == Points(40), "s1 holds the receipt's points: s2 can't take them")
        #expect(second.lotBook(of: alice).deficit == .zero)
        #expect(second.accountState(of: alice, at: 3_000) == AccountState(balance: Points(100), debt: Points(40)))
    }

    /// The offline allowance: once the holders were asked, a redemption may overspend the
    /// rights held by up to the allowance per account, within what the node's cap leaves; the
    /// overdraft is the lots' deficit, and the next credit repays it first.
    @Test func anOfflineAllowanceLetsANodeOverspendABoundedAmount() throws {
        var first = MemoryLedger(origin: s1), second = MemoryLedger(origin: s2)
        _ = second.apply([try appended(try first.write(earn("R1", fen: 10_000), now: 1_000, settings: underRights))])
        _ = try second.write(earn("R2", fen: 1_500), now: 1_500, settings: underRights)
        let room = HoldersAsked(overdraftRoom: OverdraftRoom(perAccount: Points(20), nodeLeft: Points(100)))
        #expect(throws: LedgerError.insufficientPointsOffline(account: alice, servable: Points(15), requested: Points(30)), "not before asking") {
            try second.write(redeem("Q1", points: 30), now: 2_000, settings: underRights)
        }
        let over = try appended(try second.write(redeem("Q1", points: 30), now: 2_000, settings: underRights, holdersAsked: room))
        #expect(try Redemption.overdraft(of: over) == Points(15))
        #expect(second.lotBook(of: alice).deficit == Points(15) && second.accountState(of: alice, at: 3_000).balance == Points(85))
        #expect(throws: LedgerError.insufficientPointsOffline(account: alice, servable: .zero, requested: Points(6)), "15 + 6 is past 20") {
            try second.write(redeem("Q2", points: 6), now: 2_500, settings: underRights, holdersAsked: room)
        }
        #expect(try Redemption.overdraft(of: try appended(try second.write(redeem("Q2", points: 5), now: 2_500, settings: underRights,
                                                                              holdersAsked: room))) == Points(5))
        // bob's points are held by s1: here all 4 would be overdraft, within his 20 but past the node's 3.
        let bobs = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "RB"), account: bob, amount: Fen(1_000)))
        _ = second.apply([try appended(try first.write(bobs, now: 2_550, settings: underRights))])
        let tight = HoldersAsked(overdraftRoom: OverdraftRoom(perAccount: Points(20), nodeLeft: Points(3)))
        #expect(throws: LedgerError.insufficientPointsOffline(account: bob, servable: .zero, requested: Points(4)), "the node's cap") {
            try second.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q3"), account: bob, points: Points(4))),
                             now: 2_600, settings: underRights, holdersAsked: tight)
        }
        // The next earning here repays the overdraft first.
        _ = try second.write(earn("R3", fen: 3_000), now: 3_000, settings: underRights)
        #expect(second.lotBook(of: alice).deficit == .zero && second.lotBook(of: alice).rights(of: s2, at: 4_000).points == Points(10))
    }

    @Test func aNodeDoesNotGrantToItself() throws {
        var first = MemoryLedger(origin: s1)
        _ = try first.write(earn("R1", fen: 10_000), now: 1_000, settings: underRights)
        #expect {
            try first.write(grant("g1", to: s1), now: 2_000, settings: underRights)
        } throws: { error in
            guard case LedgerError.fieldNotApplicable(field: "receiver", _) = error else { return false }
            return true
        }
    }
}
