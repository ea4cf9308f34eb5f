import PointMeshCore
import PointMeshJSON
import Testing

private let store = NodeID(unchecked: "s1")
private let day = CivilCalendar.millisecondsPerDay
private let ann = AccountID(unchecked: "ann"), bob = AccountID(unchecked: "bob")
/// Day 0 of the history: the 30-day policy is in force from then (published 31 days before).
private let t0 = 31 * day

private func purchase(_ receipt: String, fen: Int64, account: AccountID) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: account, amount: Fen(fen)))
}

/// A small history under a 30-day expiry policy: ann earns twice and spends more than her first
/// purchase earned, then the second purchase is refunded (20 of its points were spent: debt);
/// bob earns inside a 3-day return window; his lot expires unspent. Only the steps made by `until`.
private func history(until: Int64 = .max) throws -> MemoryLedger {
    let steps: [(now: Int64, write: PreparedWrite, settings: NodeSettings)] = [
        (1, PreparedWrite(ExpiryPolicyKind.self, ExpiryPolicyKind.Request(version: RequestID(unchecked: "d30"), rule: .days(30), effectiveAt: t0)), NodeSettings()),
        (t0 + 1 * day, purchase("R1", fen: 10_000, account: ann), NodeSettings()),
        (t0 + 20 * day, purchase("R2", fen: 5_000, account: ann), NodeSettings()),
        (t0 + 21 * day, PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: ann, points: Points(120))), NodeSettings()),
        (t0 + 22 * day, PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R2"), amount: Fen(5_000))),
         NodeSettings()),
        (t0 + 40 * day, purchase("R3", fen: 2_000, account: bob), NodeSettings(returnWindow: 3 * day)),
    ]
    var ledger = MemoryLedger(origin: store)
    for step in steps where step.now <= until { _ = try ledger.write(step.write, now: step.now, settings: step.settings) }
    return ledger
}

private func entries(of account: AccountID, in ledger: MemoryLedger) -> [(entry: LedgerEntry, stands: Bool)] {
    ledger.allEntries.filter { $0.customerAccounts.contains(account) }.sorted { LotOrder($0) < LotOrder($1) }.map { ($0, true) }
}

/// The report at `asOf` over the whole history (entries after `asOf` included, to be left out).
private func liability(at asOf: Int64) throws -> LiabilityReport {
    let ledger = try history()
    var report = LiabilityReport(asOf: asOf)
    for account in [ann, bob] { try report.add(account, entries: entries(of: account, in: ledger)) }
    return report
}

@Suite struct LiabilityReportTests {
    /// At each instant the report's figures are the accounts' own, as the ledger shows them,
    /// and the lots that reached their expiry give the breakage.
    @Test func figuresAreTheAccountsAtTheInstant() throws {
        for asOf in [t0 + 1 * day, t0 + 21 * day + 1, t0 + 22 * day + 1, t0 + 41 * day, t0 + 60 * day, t0 + 80 * day] {
            // The oracle: a ledger that saw only the entries made by then.
            let then = try history(until: asOf)
            let report = try liability(at: asOf)
            let states = [ann, bob].map { then.accountState(of: $0, at: asOf) }
            #expect(report.points == states.reduce(.zero) { $0 + $1.balance }, "at day \((asOf - t0) / day)")
            #expect(report.pendingPoints == states.reduce(.zero) { $0 + $1.pending }, "at day \((asOf - t0) / day)")
            #expect(report.debtPoints == states.reduce(.zero) { $0 + $1.debt }, "at day \((asOf - t0) / day)")
        }
        // Day 21: ann's 150 less 120 spent, from the soonest-expiring lot first (R1's 100, then 20 of R2's).
        let spent = try liability(at: t0 + 21 * day + 1)
        #expect(spent.points == Points(30) && spent.byStore[store]?.points == Points(30) && spent.expirySchedule.values.reduce(.zero, +) == Points(30))
        // Day 41: the refund took R2's 30 left and recorded 20 as debt; bob's 20 are pending.
        let early = try liability(at: t0 + 41 * day)
        #expect(early.pendingPoints == Points(20) && early.points == .zero && early.debtPoints == Points(20))
        // Day 60: bob's 20 are spendable and expire at day 70, in the schedule.
        let later = try liability(at: t0 + 60 * day)
        #expect(later.points == Points(20) && later.byStore[store]?.points == Points(20) && later.expirySchedule.values.reduce(.zero, +) == Points(20))
        #expect(later.breakage.expired == .zero && later.breakage.reached == Points(150))
        // Day 80: bob's lot expired unspent: 20 of the 170 points whose lots reached their expiry.
        let expired = try liability(at: t0 + 80 * day)
        #expect(expired.points == .zero && expired.breakage.expired == Points(20) && expired.breakage.reached == Points(170), "\(expired.breakage)")
        #expect(expired.breakageMicros == 117_647, "20 ÷ 170, in millionths")
    }

    @Test func theValueRoundsHalfAwayFromZeroAndLessesBreakage() throws {
        let value = PointValue(version: RequestID(unchecked: "v1"), points: Points(200), fen: Fen(2_500), publishedAt: 0)
        #expect(value.fen(of: Points(1)) == 13, "12.5 fen rounds to 13")
        #expect(value.fen(of: Points(3)) == 38, "37.5 rounds to 38")
        #expect(value.fen(of: Points(400)) == 5_000)
        let report = try liability(at: t0 + 60 * day)
        #expect(report.liabilityFen(at: value) == 250, "20 points at 12.5 fen, and no lot expired unspent yet")
        let expired = try liability(at: t0 + 65 * day)
        #expect(expired.liabilityFen(at: value) == 250 && expired.breakageRate == 0)
    }
}

@Suite struct ActivityReportTests {
    @Test func movesAreCountedWhereTheyGo() throws {
        let ledger = try history()
        var byDay = ActivityReport(period: t0..<(t0 + 100 * day), grouping: .day)
        var byStore = ActivityReport(period: t0..<(t0 + 100 * day), grouping: .store)
        for entry in ledger.allEntries {
            try byDay.add(entry, catalog: Catalog())
            try byStore.add(entry, catalog: Catalog())
        }
        let total = byDay.total
        #expect(total.issued == Points(170) && total.redeemed == Points(120) && total.refunded == Points(50), "\(total)")
        #expect(byStore.total == total && byStore.rows.keys.sorted() == ["s1"])
        #expect(byDay.rows.keys.sorted() == [1, 20, 21, 22, 40].map { ActivityReport.day(t0 + $0 * day) })
        // Outside the period nothing counts.
        var oneDay = ActivityReport(period: (t0 + 21 * day)..<(t0 + 22 * day), grouping: .day)
        for entry in ledger.allEntries { try oneDay.add(entry, catalog: Catalog()) }
        #expect(oneDay.total.redeemed == Points(120) && oneDay.total.issued == .zero)
        oneDay.addExpired(Points(5), at: t0 + 21 * day + 10, store: store)
        oneDay.addExpired(Points(9), at: t0 + 23 * day, store: store)
        #expect(oneDay.total.expired == Points(5))
    }
}

@Suite struct DayCellTests {
    /// A period's whole UTC days and the parts of days it cuts, which together are the period.
    @Test func aPeriodIsItsWholeDaysAndThePartsOfDaysItCuts() {
        let hour: Int64 = 3_600_000, d = 20_000 as Int64
        let cases: [(period: Range<Int64>, whole: Range<Int64>, parts: [Range<Int64>])] = [
            ((d * day + hour)..<((d + 3) * day + 2 * hour), (d + 1)..<(d + 3), [(d * day + hour)..<((d + 1) * day), ((d + 3) * day)..<((d + 3) * day + 2 * hour)]),
            ((d * day)..<((d + 2) * day), d..<(d + 2), []),
            ((d * day + hour)..<(d * day + 2 * hour), (d + 1)..<(d + 1), [(d * day + hour)..<(d * day + 2 * hour)]),
            ((d * day + hour)..<((d + 1) * day + hour), (d + 1)..<(d + 1), [(d * day + hour)..<((d + 1) * day + hour)]),
            ((d * day)..<(d * day + 1), d..<d, [(d * day)..<(d * day + 1)]),
            ((-day - 1)..<1, -1..<0, [(-day - 1)..<(-day), 0..<1]),
        ]
        for (period, whole, parts) in cases {
            #expect(DayCell.wholeDays(in: period) == whole, "\(period)")
            #expect(DayCell.partialDays(of: period) == parts, "\(period)")
            let covered = parts.reduce(DayCell.start(of: whole.upperBound) - DayCell.start(of: whole.lowerBound)) { $0 + ($1.upperBound - $1.lowerBound) }
            #expect(covered == period.upperBound - period.lowerBound, "\(period)")
        }
    }

    /// A purchase adds its points to its store's issued figure on its day, and to the points
    /// credited on the day its lot is due to expire; a redemption of a reward to its reward.
    @Test func anEntryAddsToTheCellsOfItsDayAndOfItsLotsExpiry() throws {
        let ledger = try history()
        let purchase = try #require(ledger.allEntries.first { $0.code == Earn.code })
        let cells = try DayCell.cells(of: purchase)
        let today = DayCell.day(of: purchase.timestamp.wallMilliseconds)
        #expect(cells[DayCell(day: today, dimension: .store, key: "s1", figure: "issued")] == Points(100))
        #expect(cells[DayCell(day: today + 30, dimension: .creditExpiry, key: "", figure: DayCell.credited)] == Points(100), "\(cells)")
        #expect(cells.count == 2)
        let redemption = try #require(ledger.allEntries.first { $0.code == Redemption.code })
        #expect(try DayCell.cells(of: redemption) == [
            DayCell(day: DayCell.day(of: redemption.timestamp.wallMilliseconds), dimension: .store, key: "s1", figure: "redeemed"): Points(120),
            DayCell(day: DayCell.day(of: redemption.timestamp.wallMilliseconds), dimension: .reward, key: "points", figure: "redeemed"): Points(120),
        ])
    }
}

@Suite struct OriginFreshnessTests {
    @Test func eachOriginSaysHowCompleteItsEntriesAre() {
        let me = NodeID(unchecked: "hq"), near = NodeID(unchecked: "s1"), far = NodeID(unchecked: "s2"), gone = NodeID(unchecked: "s3")
        let held = VersionVector([me: 5, near: 10, far: 3, gone: 2])
        let rows = OriginFreshness.all(local: me, now: 100_000, newest: [me: 99_000, near: 98_000, far: 50_000, gone: 10_000], held: held, peers: [
            near: OriginFreshness.Peer(alive: true, lastContact: 99_500, vector: VersionVector([near: 10, far: 7])),
            far: OriginFreshness.Peer(alive: false, lastContact: 60_000, vector: nil),
        ])
        #expect(rows.map(\.node) == [me, near, far, gone])
        #expect(rows[0].contact == .local && !rows[0].isBehind && rows[0].behindSeconds(at: 100_000) == 0)
        #expect(rows[1].contact == .alive && !rows[1].isBehind && rows[1].behindSeconds(at: 100_000) == 0)
        #expect(rows[2].contact == .unreachable && rows[2].isBehind && rows[2].missingEntries == 4 && rows[2].behindSeconds(at: 100_000) == 40)
        #expect(rows[3].contact == .indirect && !rows[3].isBehind && rows[3].behindSeconds(at: 100_000) == 90)
    }
}

@Suite struct ReportCSVTests {
    @Test func longFormWithQuotingAndAStableOrder() {
        let report = JSONValue.object([
            "as_of": .string("2026-12-01T00:00:00.000Z"),
            "outstanding": .object(["points": .integer(5), "debt_points": .integer(1)]),
            "by_store": .array([.object(["store": .string("s2"), "points": .integer(2)]), .object(["store": .string("s1"), "points": .integer(3)])]),
            "budgets": .array([.object(["month": .string("2026-12"), "scope": .string("chain"), "points": .integer(9), "used": .integer(4)])]),
            "freshness": .array([.object(["node_id": .string("s1"), "contact": .string("alive"), "behind": .bool(false), "newest_entry_at": .null]),
                                 .object(["node_id": .string("s2"), "contact": .string("alive"), "behind": .bool(false),
                                          "newest_entry_at": .string("2026-11-30T00:00:00.000Z")])]),
            "rows": .array([.object(["key": .string("a,\"b\""), "issued": .integer(7)])]),
        ])
        let lines = [
            "section,key,field,value", "as_of,,,2026-12-01T00:00:00.000Z", "budgets,2026-12/chain,points,9", "budgets,2026-12/chain,used,4",
            "by_store,s2,points,2", "by_store,s1,points,3",
            // A peer whose entries the node holds none of adds nothing to the figures: left out.
            "freshness,s2,behind,false", "freshness,s2,newest_entry_at,2026-11-30T00:00:00.000Z",
            "outstanding,,debt_points,1", "outstanding,,points,5", #"rows,"a,""b""",issued,7"#,
        ]
        #expect(ReportCSV.document(of: report) == lines.map { $0 + "\r\n" }.joined())
        #expect(CSVTable.text(header: ["a"], rows: [["x\r\ny"]]) == "a\r\n\"x\r\ny\"\r\n", "a line break of two characters is quoted too")
    }
}
