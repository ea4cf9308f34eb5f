import PointMeshCore
import PointMeshJSON
import PointMeshSimulation
import Testing

private let store1 = NodeID(unchecked: "s1"), store2 = NodeID(unchecked: "s2")
private let tea = CategoryID(unchecked: "tea"), rice = CategoryID(unchecked: "rice"), organic = CategoryID(unchecked: "organic")
private let day: Int64 = 86_400_000

private func campaign(_ id: String, _ effect: Campaign.Effect, categories: [CategoryID] = [], stores: [NodeID] = [], green: Bool = false,
                      from start: Int64 = 0, to end: Int64 = 100 * day, backdate: String? = "published after it began") -> Campaign {
    Campaign(id: CampaignID(unchecked: id), name: id, startsAt: start, endsAt: end, stores: stores, categories: categories, effect: effect, green: green,
             backdateReason: backdate)
}

private func item(_ category: CategoryID, _ fen: Int64) -> PurchaseItem { PurchaseItem(sku: SKU(unchecked: "sku"), category: category, amount: Fen(fen)) }

@Suite struct EarningComputation {
    @Test func campaignsMatchByTimeScopeAndCategory() {
        let c = campaign("c", .multiplier(2), categories: [tea], stores: [store1], from: 10 * day, to: 20 * day)
        #expect(!c.applies(at: 10 * day - 1, store: store1) && c.applies(at: 10 * day, store: store1) && !c.applies(at: 20 * day, store: store1))
        #expect(!c.applies(at: 15 * day, store: store2), "listed stores only")
        #expect(c.matches(tea) && !c.matches(rice) && !c.matches(nil))
        var withdrawn = c
        withdrawn.withdrawnAt = 12 * day
        #expect(withdrawn.applies(at: 11 * day, store: store1) && !withdrawn.applies(at: 12 * day, store: store1))
        #expect(campaign("all", .bonus(Points(5))).matches(nil), "a campaign without categories takes the whole receipt")
    }

    /// The campaigns in force at an instant hold for the span `campaignsInForce` gives around
    /// it (the writer keeps the list that long): over random catalogs, the list at both ends of
    /// the span and at instants inside it is the one at the instant, in id order.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func campaignsInForceHoldForTheirSpan(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for _ in 0..<200 {
            var catalog = Catalog()
            for index in 0..<Int(random.next() % 8) {
                let start = Int64(random.next() % 30) * day
                var c = campaign("c\(random.next() % 100)-\(index)", .multiplier(2), stores: random.next() % 3 == 0 ? [store1] : [],
                                 from: start, to: start + Int64(1 + random.next() % 20) * day)
                if random.next() % 4 == 0 { c.withdrawnAt = start + Int64(random.next() % 10) * day }
                catalog.campaigns[c.id] = c
            }
            let instant = Int64(random.next() % 50) * day + Int64(random.next() % 3) - 1, store = random.next() % 2 == 0 ? store1 : store2
            let inForce = catalog.campaignsInForce(at: instant, store: store)
            let ids = { (at: Int64) in catalog.campaigns(at: at, store: store).map(\.id) }
            #expect(inForce.campaigns.map(\.id) == ids(instant) && ids(instant) == ids(instant).sorted())
            #expect(inForce.holds(at: instant, store: store) && !inForce.holds(at: instant, store: store == store1 ? store2 : store1))
            let span = max(inForce.span.lowerBound, -day)..<min(inForce.span.upperBound, 60 * day)
            for at in [span.lowerBound, span.upperBound - 1] + (0..<5).map({ _ in span.lowerBound + Int64(random.next() % UInt64(span.count)) }) {
                #expect(ids(at) == ids(instant), "at \(at), inside \(inForce.span) around \(instant)")
            }
        }
    }

    /// At most one multiplier per line, the largest; bonuses add; green lines and green
    /// campaigns make green points.
    @Test func stackingAndTheGreenSplit() {
        let campaigns = [campaign("double", .multiplier(2)), campaign("tea3", .multiplier(3), categories: [tea]),
                         campaign("bonus", .bonus(Points(7)), categories: [organic], green: true), campaign("rice-bonus", .bonus(Points(9)), categories: [rice])]
        let earning = EarningRules.earning(amount: Fen(10_050), items: [item(tea, 3_000), item(organic, 5_000)], campaigns: campaigns, green: [organic])
        #expect(earning.base == Points(100))
        #expect(earning.campaigns == [
            EarningRules.CampaignPoints(campaign: CampaignID(unchecked: "bonus"), points: Points(7), green: true),
            EarningRules.CampaignPoints(campaign: CampaignID(unchecked: "double"), points: Points(70), green: false),
            EarningRules.CampaignPoints(campaign: CampaignID(unchecked: "tea3"), points: Points(60), green: false),
        ], "tea takes 3x not 2x; organic and the unnamed 20.50 yuan take 2x; no rice, no rice bonus")
        #expect(earning.total == Points(237) && earning.green == Points(57) && earning.regular == Points(180))
        #expect(earning.considered == [CampaignID(unchecked: "rice-bonus")], "in force, added nothing")
        let tie = EarningRules.earning(amount: Fen(1_000), items: [], campaigns: [campaign("b", .multiplier(2)), campaign("a", .multiplier(2))], green: [])
        #expect(tie.campaigns.map(\.campaign.rawValue) == ["a"], "a tie goes to the smaller id")
        #expect(tie.considered.map(\.rawValue) == ["b"])
    }

    /// Over generated receipts: the points never exceed what the receipt's lines at their
    /// multipliers allow (one rounding for the whole receipt), and never fall short of it by
    /// more than one point per campaign.
    @Test func roundingNeverExceedsWhatTheReceiptAllows() {
        var random = SplitMix64(seed: 11)
        let categories = [tea, rice, organic]
        for _ in 0..<2_000 {
            let items = (0..<Int(random.next() % 6)).map { _ in item(categories[Int(random.next() % 3)], Int64(1 + random.next() % 9_999)) }
            let amount = items.reduce(Int64(0)) { $0 + $1.amount.value } + Int64(random.next() % 500)
            guard amount > 0 else { continue }
            let campaigns = (0..<Int(random.next() % 5)).map { index in
                campaign("c\(index)", .multiplier(Int64(2 + random.next() % 9)), categories: random.next() % 2 == 0 ? [] : [categories[Int(random.next() % 3)]])
            }
            let earning = EarningRules.earning(amount: Fen(amount), items: items, campaigns: campaigns, green: [organic])
            var weighted: Int64 = 0
            for line in EarningRules.lines(amount: Fen(amount), items: items) {
                let multiplier = campaigns.filter { $0.matches(line.category) }.compactMap { c -> Int64? in
                    if case .multiplier(let n) = c.effect { n } else { nil }
                }.max() ?? 1
                weighted += line.fen * multiplier
            }
            #expect(earning.total.value <= weighted / 100, "\(amount) fen, \(items.count) items: \(earning.total) > \(weighted / 100)")
            #expect(earning.total.value >= weighted / 100 - Int64(campaigns.count) - 1)
            #expect(earning.green <= earning.total)
        }
    }

    /// A campaign learned late adds, per line, only the multiplier beyond what the line already
    /// earned with; a bonus once; nothing when it was applied.
    /// Lines of one category are summed before campaigns are matched: the earning must be what
    /// the lines one by one give, in any order of the items.
    @Test func perCategoryLinesEarnWhatSingleLinesEarn() {
        let campaigns = [campaign("a", .multiplier(3), categories: [tea]), campaign("b", .multiplier(2)), campaign("c", .bonus(Points(7)), categories: [rice])]
        let items = [item(tea, 150), item(rice, 99), item(tea, 250), item(organic, 101), item(rice, 1)]
        let lines = EarningRules.lines(amount: Fen(700), items: items)
        #expect(lines.map(\.category) == [tea, rice, organic, nil])
        #expect(lines.map(\.fen) == [400, 100, 101, 99])
        let earning = EarningRules.earning(amount: Fen(700), items: items, campaigns: campaigns, green: [organic])
        // tea 400 fen at 3×: 8 more; rice 100, organic 101 and the rest 99 at 2×: 3 more; the bonus 7.
        #expect(earning.campaigns.map(\.points) == [Points(8), Points(3), Points(7)])
        #expect(earning.greenBase == Points(1))
        #expect(EarningRules.earning(amount: Fen(700), items: items.reversed(), campaigns: campaigns.reversed(), green: [organic]) == earning)
    }

    /// The entry `request` makes under `campaigns` and `green`, and its answer parsed.
    private func answered(_ request: Earn.Request, under campaigns: [Campaign], green: Set<CategoryID> = [],
                          replayed: Bool = false) throws -> (entry: LedgerEntry, answer: [String: JSONValue], listed: [JSONValue]) {
        var facts = Earn.Facts(account: .empty, policies: ExpiryPolicies())
        facts.rates = EarningRules.Rates(campaigns: campaigns, green: green)
        let decision = try Earn.decide(request, facts: facts, context: RequestContext(node: store1, now: 1_000))
        let write = PreparedWrite(Earn.self, request)
        let entry = LedgerEntry(id: EntryID(origin: store1, sequence: 1), timestamp: HLCTimestamp(wallMilliseconds: 1_000, logical: 0), code: Earn.code,
                                idempotencyKey: write.key, requestHash: write.hash, moves: decision.moves, details: decision.details)
        guard case .object(let answer) = try JSONParser.parse(try Earn.response(entry, replayed: replayed)),
              case .array(let listed)? = answer["campaigns"] else {
            Issue.record("the answer has no campaigns list")
            return (entry, [:], [])
        }
        return (entry, answer, listed)
    }

    /// The answer lists what each campaign added, read back from the entry's details, and the
    /// green part; the campaigns that added nothing are recorded but not listed.
    @Test func theAnswerListsEachCampaignsPoints() throws {
        let campaigns = [campaign("tea3", .multiplier(3), categories: [tea]), campaign("rice2", .multiplier(2), categories: [rice]),
                         campaign("bonus", .bonus(Points(5)), green: true), campaign("idle", .multiplier(2), categories: [CategoryID(unchecked: "none")])]
        let request = Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "alice"), amount: Fen(1_000),
                                   items: [item(tea, 400), item(rice, 300), item(organic, 200)])
        let (entry, answer, listed) = try answered(request, under: campaigns, green: [organic])
        // Sorted by id: bonus 5, rice2 3 × (2 − 1) = 3, tea3 4 × (3 − 1) = 8.
        #expect(listed == [.object(["campaign_id": .string("bonus"), "points": .integer(5)]),
                           .object(["campaign_id": .string("rice2"), "points": .integer(3)]),
                           .object(["campaign_id": .string("tea3"), "points": .integer(8)])])
        #expect(answer["points"] == .integer(10 + 5 + 3 + 8))
        #expect(answer["green_points"] == .integer(2 + 5))
        #expect(try Earn.consideredCampaigns(entry).map(\.rawValue).sorted() == ["bonus", "idle", "rice2", "tea3"])
    }

    /// An answer longer than the room reserved for it grows: forty campaigns with long ids, each
    /// listed with its points, and the JSON still whole.
    @Test func aLongAnswerListsEveryCampaign() throws {
        let campaigns = (0..<40).map { campaign(String(repeating: "c", count: 100) + "-\($0 + 10)", .bonus(Points(Int64($0 + 1)))) }
        let customer = String(repeating: "a", count: 120)
        let request = Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: customer), amount: Fen(1_000))
        let (_, answer, listed) = try answered(request, under: campaigns, replayed: true)
        #expect(listed == campaigns.enumerated().map { .object(["campaign_id": .string($1.id.rawValue), "points": .integer(Int64($0 + 1))]) })
        #expect(answer["points"] == .integer(10 + 40 * 41 / 2) && answer["replayed"] == .bool(true) && answer["account_id"] == .string(customer))
    }

    /// A purchase's request hash is stored with its entry and compared when the same receipt is
    /// sent again, also to an upgraded node: its canonical form must not change.
    @Test func aPurchasesCanonicalFormIsStable() {
        let request = Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "alice"), amount: Fen(12345),
                                   items: [item(tea, 600), item(rice, 5)], budgetOverride: "launch")
        #expect(Earn.canonicalForm(request) == "purchase\nR1\nalice\n12345\nitem\tsku\ttea\t600\nitem\tsku\trice\t5\noverride\tlaunch\n")
        // Amounts are written digit by digit: as `String(value)` writes them, at every length.
        var random = SplitMix64(seed: 7)
        for amount in [1, 9, 10, 99, 100, Int64.max] + (0..<500).map({ _ in Int64(random.next() >> UInt64(1 + random.next() % 62)) + 1 }) {
            let one = Earn.Request(receipt: ReceiptID(unchecked: "R"), account: AccountID(unchecked: "a"), amount: Fen(amount), items: [item(tea, amount)])
            #expect(Earn.canonicalForm(one) == "purchase\nR\na\n\(amount)\nitem\tsku\ttea\t\(amount)\n")
        }
    }

    /// A purchase's item fields are written through a pointer, sized beforehand
    /// (`ReceiptLines`): they must be the bytes the details writer makes, for ids of every
    /// length up to the limit and amounts up to the largest.
    @Test func itemFieldsAreWhatTheDetailsWriterWrites() throws {
        var random = SplitMix64(seed: 12)
        for _ in 0..<300 {
            let items = (0..<Int(random.next() % 6)).map { _ in
                PurchaseItem(sku: SKU(unchecked: String(repeating: "s", count: 1 + Int(random.next() % UInt64(maximumIdentifierLength)))),
                             category: CategoryID(unchecked: String(repeating: "c", count: 1 + Int(random.next() % 140))),
                             amount: Fen([1, 127, 128, 16_383, 16_384, Limits.maximumAmount.value][Int(random.next() % 6)]))
            }
            var expected = DetailsWriter()
            expected.text(1, "R")
            expected.number(2, Limits.maximumAmount.value)
            for item in items {
                expected.group(3) { line in
                    line.text(1, item.sku.rawValue)
                    line.text(2, item.category.rawValue)
                    line.number(3, item.amount.value)
                }
            }
            expected.number(4, 7)  // the balance after, every kind's tag 4
            let written = Earn.details(receipt: ReceiptID(unchecked: "R"), amount: Limits.maximumAmount, items: items, balanceAfter: Points(7))
            #expect(written == expected.details)
        }
    }

    /// The rates arranged once per list of campaigns (`EarningRules.Rates`) earn what the rules
    /// say, line by line, over generated receipts, campaigns and green categories: each line its
    /// largest matching multiplier (the first in id order on a tie), each bonus once if any line
    /// matches it, green points from green lines and green campaigns; one set of rates serves
    /// every receipt, and campaigns given out of id order are put in it.
    @Test func ratesEarnWhatTheRulesSayLineByLine() {
        var random = SplitMix64(seed: 31)
        let categories = [tea, rice, organic, CategoryID(unchecked: "soap"), CategoryID(unchecked: "bread")]
        for _ in 0..<300 {
            let campaigns = (0..<Int(random.next() % 7)).map { index in
                campaign("c\(random.next() % 5)-\(index)",
                         random.next() % 3 == 0 ? .bonus(Points(Int64(1 + random.next() % 50))) : .multiplier(Int64(2 + random.next() % 9)),
                         categories: (0..<Int(random.next() % 3)).map { _ in categories[Int(random.next() % 5)] }, green: random.next() % 4 == 0)
            }
            let green = Set(categories.filter { _ in random.next() % 4 == 0 })
            let rates = EarningRules.Rates(campaigns: campaigns.shuffled(using: &random), green: green)
            #expect(rates.campaigns.map(\.id) == campaigns.map(\.id).sorted())
            for _ in 0..<5 {
                let items = (0..<Int(random.next() % 6)).map { _ in item(categories[Int(random.next() % 5)], Int64(1 + random.next() % 9_999)) }
                let amount = Fen(items.reduce(Int64(0)) { $0 + $1.amount.value } + Int64(random.next() % 3) * Int64(random.next() % 900))
                let lines = EarningRules.lines(amount: amount, items: items)
                let sorted = campaigns.sorted { $0.id < $1.id }
                var tally = [Int64](repeating: 0, count: sorted.count), greenFen: Int64 = 0
                for line in lines {
                    if let category = line.category, green.contains(category) { greenFen += line.fen }
                    var winner: Int?
                    for (index, c) in sorted.enumerated() where c.matches(line.category) {
                        switch c.effect {
                        case .multiplier(let n):
                            if winner.map({ if case .multiplier(let m) = sorted[$0].effect { n > m } else { false } }) ?? true { winner = index }
                        case .bonus: tally[index] = 1
                        }
                    }
                    if let winner { tally[winner] += line.fen }
                }
                var expected: [EarningRules.CampaignPoints] = [], considered: [CampaignID] = []
                for (index, c) in sorted.enumerated() {
                    let points: Int64
                    switch c.effect {
                    case .multiplier(let n): points = tally[index] * (n - 1) / 100
                    case .bonus(let bonus): points = tally[index] > 0 ? bonus.value : 0
                    }
                    if points > 0 { expected.append(EarningRules.CampaignPoints(campaign: c.id, points: Points(points), green: c.green)) } else { considered.append(c.id) }
                }
                let earning = rates.earning(amount: amount, lines: lines)
                #expect(earning.campaigns == expected && earning.considered == considered, "\(items) under \(sorted)")
                #expect(earning.base == Points(amount.value / 100) && earning.greenBase == Points(greenFen / 100))
            }
        }
    }

    @Test func lateCreditsAddOnlyWhatIsMissing() {
        let double = campaign("double", .multiplier(2)), tea3 = campaign("tea3", .multiplier(3), categories: [tea])
        let items = [item(tea, 3_000)]
        #expect(EarningRules.lateCredit(tea3, amount: Fen(10_000), items: items, applied: []) == Points(60))
        #expect(EarningRules.lateCredit(tea3, amount: Fen(10_000), items: items, applied: [double]) == Points(30), "tea had 2x: 1x more")
        #expect(EarningRules.lateCredit(double, amount: Fen(10_000), items: items, applied: [tea3]) == Points(70), "only the 70 yuan not in tea")
        #expect(EarningRules.lateCredit(double, amount: Fen(10_000), items: items, applied: [double]) == .zero)
        #expect(EarningRules.lateCredit(campaign("b", .bonus(Points(5))), amount: Fen(100), items: [], applied: []) == Points(5))
        // Either order of learning two campaigns ends at the same points.
        let oneWay = EarningRules.lateCredit(double, amount: Fen(10_000), items: items, applied: [])
            + EarningRules.lateCredit(tea3, amount: Fen(10_000), items: items, applied: [double])
        let otherWay = EarningRules.lateCredit(tea3, amount: Fen(10_000), items: items, applied: [])
            + EarningRules.lateCredit(double, amount: Fen(10_000), items: items, applied: [tea3])
        #expect(oneWay == otherWay && oneWay == Points(130))
    }
}

/// Late campaign credits and refunds, in either order: a receipt refunded in full leaves no
/// campaign points behind, and one partly refunded is credited the share not refunded.
@Suite struct LateCreditsAndRefunds {
    private func run(refundFirst: Bool) throws -> MemoryLedger {
        var ledger = MemoryLedger(origin: store1)
        let amy = AccountID(unchecked: "amy")
        _ = try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: amy, amount: Fen(10_000))), now: 1_000)
        let refund = { (id: String, fen: Int64) in
            PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: id), receipt: ReceiptID(unchecked: "R1"), amount: Fen(fen)))
        }
        if refundFirst { _ = try ledger.write(refund("F1", 5_000), now: 2_000) }
        _ = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("double", .multiplier(2))), now: 3_000)
        let owed = try LateCampaigns.owed(by: store1, from: ledger)
        #expect(owed.count == 1)
        for write in owed { _ = try ledger.write(write, now: 4_000) }
        #expect(try LateCampaigns.owed(by: store1, from: ledger).isEmpty, "credited once")
        #expect(ledger.accountState(of: amy, at: 5_000).balance == Points(refundFirst ? 100 : 200))
        if !refundFirst { _ = try ledger.write(refund("F1", 5_000), now: 6_000) }
        _ = try ledger.write(refund("F2", 5_000), now: 7_000)
        return ledger
    }

    /// A sweep reads a campaign's purchases in pages: page by page it finds exactly the credits
    /// one read of them all finds (purchases outside the window and other kinds between them
    /// included), and says when none are left.
    @Test(arguments: [1, 2, 3, 7, 1_000])
    func aSweepPagesThroughThePurchases(limit: Int) throws {
        var ledger = MemoryLedger(origin: store1)
        for index in 0..<7 {
            let account = AccountID(unchecked: "a\(index % 3)")
            _ = try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R\(index)"), account: account, amount: Fen(1_000))),
                                 now: Int64(index) * day)
            _ = try? ledger.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(index)"), account: account, points: Points(1))),
                                  now: Int64(index) * day + 1)
        }
        _ = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("double", .multiplier(2), from: day, to: 6 * day)), now: 10 * day)
        let catalog = try ledger.catalog()
        let double = try #require(catalog.campaigns[CampaignID(unchecked: "double")])
        var paged: [PreparedWrite] = [], after: Int64? = 0, pages = 0
        while let start = after {
            let page = try LateCampaigns.owed(double, by: store1, from: ledger, catalog: catalog, after: start, limit: limit)
            #expect(page.writes.count <= limit)
            paged += page.writes
            after = page.next
            pages += 1
        }
        let all = try LateCampaigns.owed(by: store1, from: ledger)
        #expect(all.count == 5, "R1…R5 are in the window")
        #expect(paged.map(\.key) == all.map(\.key) && pages == 5 / limit + 1)
    }

    @Test(arguments: [false, true])
    func aRefundedReceiptKeepsNoCampaignPoints(refundFirst: Bool) throws {
        let ledger = try run(refundFirst: refundFirst)
        #expect(ledger.accountState(of: AccountID(unchecked: "amy"), at: 8_000) == AccountState(balance: .zero, debt: .zero, pending: .zero))
    }
}

@Suite struct RewardsAndBudgets {
    @Test func billDeductionIsCappedByTheBillAndChargesWhatTheDiscountCosts() {
        let reward = Reward(id: RequestID(unchecked: "bill"), name: "Bill", points: Points(100), kind: .billDeduction)
        #expect(reward.billDeduction(offered: Points(250), bill: Fen(10_000)) == (Fen(200), Points(200)), "whole yuan only")
        #expect(reward.billDeduction(offered: Points(5_000), bill: Fen(1_250)) == (Fen(1_200), Points(1_200)), "capped by the bill")
        #expect(reward.billDeduction(offered: Points(99), bill: Fen(10_000)) == (Fen(0), .zero))
    }

    /// A green campaign's categories must be green ones: green points are for what HQ marked
    /// green. A category not (yet) marked is refused, naming the list entry, and nothing is
    /// written; a campaign that is not green may name any category.
    @Test func aGreenCampaignNamesOnlyGreenCategories() throws {
        var ledger = MemoryLedger(origin: store1)
        _ = try ledger.write(PreparedWrite(GreenCategory.self, organic), now: 1_000)
        let before = ledger.versionVector()
        #expect(throws: LedgerError.unknownGreenCategory(tea, field: "categories[1]")) {
            try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("eco", .multiplier(2), categories: [organic, tea], green: true)), now: 2_000)
        }
        #expect(ledger.versionVector() == before, "a refusal writes nothing")
        guard case .append = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("tea2", .multiplier(2), categories: [organic, tea])), now: 2_000),
              case .append = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("eco-all", .bonus(Points(5)), green: true)), now: 2_000)
        else { Issue.record("a campaign that is not green, or green on the whole receipt, was refused"); return }
        _ = try ledger.write(PreparedWrite(GreenCategory.self, tea), now: 3_000)
        guard case .append = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("eco", .multiplier(2), categories: [organic, tea], green: true)),
                                              now: 4_000)
        else { Issue.record("marked green, the campaign was still refused"); return }
    }

    @Test func rewardsChargeTheirCostAndGreenOnlyTakesGreenPoints() throws {
        var ledger = MemoryLedger(origin: store1)
        let alice = AccountID(unchecked: "alice")
        _ = try ledger.write(PreparedWrite(GreenCategory.self, organic), now: 1_000)
        _ = try ledger.write(PreparedWrite(RewardDefinition.self, Reward(id: RequestID(unchecked: "tree"), name: "Tree", points: Points(30), kind: .service,
                                                                          greenOnly: true)), now: 1_000)
        _ = try ledger.write(PreparedWrite(RewardDefinition.self, Reward(id: RequestID(unchecked: "cup"), name: "Cup", points: Points(40), kind: .goods,
                                                                          startsAt: 5_000)), now: 1_000)
        _ = try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: alice, amount: Fen(10_000),
                                                                   items: [item(organic, 2_000)])), now: 2_000)
        let redeem = { (id: String, reward: String, points: Int64?) in
            PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: id), account: alice, points: points.map(Points.init),
                                                              reward: RequestID(unchecked: reward)))
        }
        #expect(throws: LedgerError.rewardUnavailable(RequestID(unchecked: "cup"))) { try ledger.write(redeem("Q1", "cup", nil), now: 3_000) }
        #expect(throws: LedgerError.insufficientGreenPoints(account: alice, green: Points(20), requested: Points(30))) {
            try ledger.write(redeem("Q2", "tree", nil), now: 3_000)
        }
        #expect(throws: LedgerError.pointsMismatch(reward: RequestID(unchecked: "cup"), cost: Points(40), requested: Points(10))) {
            try ledger.write(redeem("Q3", "cup", 10), now: 6_000)
        }
        #expect(throws: LedgerError.unknownDefinition("reward", "nope")) { try ledger.write(redeem("Q4", "nope", nil), now: 6_000) }
        _ = try ledger.write(redeem("Q5", "cup", 40), now: 6_000)
        let summary = ledger.lotBook(of: alice).summary(at: 7_000)
        #expect(summary.spendable == Points(60) && summary.green == Points(20), "an ordinary reward takes the soonest lots; here regular first by id")
        _ = try ledger.write(PreparedWrite(RewardWithdrawal.self, RequestID(unchecked: "cup")), now: 8_000)
        #expect(throws: LedgerError.rewardUnavailable(RequestID(unchecked: "cup"))) { try ledger.write(redeem("Q6", "cup", nil), now: 9_000) }
    }

    /// One campaign id published with other terms on two sides of a cut: the first definition in
    /// ledger order stands. A receipt that earned under the void one keeps what it was told and
    /// is credited what the standing one adds beyond it, once; one that earned more under the
    /// void one keeps it and is owed nothing. (Another campaign the receipt counted is taken at
    /// the largest of its definitions, so a second conflicting id on the same lines is never
    /// over-credited, and may be under-credited: rules.md.)
    @Test(arguments: [(2, 10, 800), (10, 2, 0), (5, 5, 0)] as [(Int64, Int64, Int64)])
    func aReceiptThatEarnedUnderAVoidDefinitionIsCreditedWhatTheStandingOneAdds(rungUpUnder: Int64, standing: Int64, owed: Int64) throws {
        let a = NodeID(unchecked: "sa"), b = NodeID(unchecked: "sb"), alice = AccountID(unchecked: "alice")
        var storeA = MemoryLedger(origin: a), storeB = MemoryLedger(origin: b)
        // The first in ledger order stands: b's, published a second earlier.
        _ = try storeB.write(PreparedWrite(CampaignDefinition.self, campaign("cx", .multiplier(standing))), now: 1_000)
        _ = try storeA.write(PreparedWrite(CampaignDefinition.self, campaign("cx", .multiplier(rungUpUnder))), now: 2_000)
        let earn = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: alice, amount: Fen(10_000)))
        _ = try storeA.write(earn, now: 3_000)
        let told = Points(100 * rungUpUnder)
        #expect(storeA.accountState(of: alice, at: 3_000).balance == told)
        _ = storeA.apply(storeB.entries(of: b, after: 0, limit: 10))
        _ = storeB.apply(storeA.entries(of: a, after: 0, limit: 10))
        #expect(try storeA.catalog().campaigns[CampaignID(unchecked: "cx")]?.effect == .multiplier(standing))
        let owedByA = try LateCampaigns.owed(by: a, from: storeA)
        #expect(owedByA.count == (owed > 0 ? 1 : 0))
        for write in owedByA {
            guard case .append(let credit) = try storeA.write(write, now: 4_000) else { Issue.record("no credit written"); continue }
            #expect(try CampaignCredit.credited(credit).points == Points(owed))
        }
        #expect(storeA.accountState(of: alice, at: 4_000).balance == told + Points(owed), "it keeps what it was told, plus the difference")
        #expect(try LateCampaigns.owed(by: a, from: storeA).isEmpty, "credited once")
        #expect(try LateCampaigns.owed(by: b, from: storeB).isEmpty, "only the store that rang it up credits it")
    }

    /// A budget names the chain or a store the deciding node knows: itself, a member of its
    /// membership, or the origin of entries it holds. An unknown id or a retired member is
    /// refused: such a budget would never apply, and HQ would believe it limits something.
    @Test func aBudgetForAStoreNoNodeKnowsIsRefused() throws {
        let hq = NodeID(unchecked: "hq"), s1 = NodeID(unchecked: "s1"), s2 = NodeID(unchecked: "s2"), s3 = NodeID(unchecked: "s3")
        var ledger = MemoryLedger(origin: hq)
        let month = CalendarMonth(containing: 1_000)
        func budget(_ store: NodeID) -> PreparedWrite {
            PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .store(store), points: Points(300)))
        }
        func appended(_ decision: WriteDecision) -> Bool {
            if case .append = decision { return true }
            return false
        }
        #expect(throws: LedgerError.unknownNode(s1, field: "scope")) { try ledger.write(budget(s1), now: 1_000) }
        ledger.members = [MemberRecord(id: s1, address: "10.0.0.1:7070"), MemberRecord(id: s2, address: "10.0.0.2:7070", retired: true)]
        let forMember = try ledger.write(budget(s1), now: 1_000)
        #expect(appended(forMember))
        #expect(throws: LedgerError.unknownNode(s2, field: "scope")) { try ledger.write(budget(s2), now: 1_000) }
        var store3 = MemoryLedger(origin: s3)
        _ = try store3.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "a"), amount: Fen(100))), now: 500)
        _ = ledger.apply(store3.entries(of: s3, after: 0, limit: 10))
        let forOrigin = try ledger.write(budget(s3), now: 1_000)
        #expect(appended(forOrigin))
        let forItself = try ledger.write(budget(hq), now: 1_000)
        #expect(appended(forItself))
    }

    /// A store refuses an earning past a budget it knows (chain or its own), saying what is
    /// left, unless overridden; campaign points count; the override is recorded.
    @Test func budgetsRefuseWhatWouldExceedThemUnlessOverridden() throws {
        var ledger = MemoryLedger(origin: store1)
        let month = CalendarMonth(containing: 1_000)
        let bob = AccountID(unchecked: "bob")
        _ = try ledger.write(PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .store(store1), points: Points(300))), now: 1_000)
        _ = try ledger.write(PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .chain, points: Points(1_000))), now: 1_000)
        _ = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("double", .multiplier(2))), now: 1_000)
        let earn = { (receipt: String, fen: Int64, override: String?) in
            PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: bob, amount: Fen(fen), budgetOverride: override))
        }
        _ = try ledger.write(earn("R1", 10_000, nil), now: 2_000)
        #expect(ledger.issued(by: store1, in: month) == Points(200), "campaign points count against the budget")
        #expect(throws: LedgerError.budgetExhausted(scope: .store(store1), month: month, left: Points(100), requested: Points(120))) {
            try ledger.write(earn("R2", 6_000, nil), now: 3_000)
        }
        guard case .append(let overridden) = try ledger.write(earn("R2", 6_000, "grand opening"), now: 3_000) else { Issue.record("refused"); return }
        #expect(try Earn.historyFields(overridden)["budget_override"] == .string("grand opening"))
        #expect(ledger.issued(by: nil, in: month) == Points(320))
        // Set back to an earlier value, a budget is a new version, not a replay of the old one;
        // the same value sent again replays the version in force.
        let set = { (points: Int64) in
            let request = BudgetDefinition.Request(month: month, scope: .chain, points: Points(points))
            return PreparedWrite(BudgetDefinition.self, request, versions: ledger.linkedEntries(BudgetDefinition.versionLink(request) ?? "").count)
        }
        _ = try ledger.write(set(2_000), now: 4_000)
        guard case .append = try ledger.write(set(1_000), now: 5_000) else { Issue.record("setting the budget back was a replay"); return }
        #expect(try ledger.catalog().budgets[month]?[.chain] == Points(1_000))
        guard case .replay = try ledger.write(set(1_000), now: 6_000) else { Issue.record("the same budget again was written again"); return }
        #expect(CalendarMonth("2026-13") == nil && CalendarMonth("2026-1") == nil && CalendarMonth("2026-02")?.description == "2026-02")
        #expect(CalendarMonth(containing: 1_709_164_800_000).description == "2024-02", "29 Feb 2024 00:00 UTC")
    }
}

/// Every credit repays debt first, as an earning does (reproduction 8 of "Two stores deciding
/// at once": a campaign credit left the debt standing beside spendable points).
@Suite struct CreditsRepayDebtFirst {
    private let amy = AccountID(unchecked: "amy")

    /// amy earns 100 points, spends them, and R1 is refunded in full: she owes 100.
    private func indebted() throws -> MemoryLedger {
        var ledger = MemoryLedger(origin: store1)
        _ = try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: amy, amount: Fen(10_000))), now: 1_000)
        _ = try ledger.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: amy, points: Points(100))), now: 2_000)
        _ = try ledger.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R1"), amount: Fen(10_000))), now: 3_000)
        #expect(ledger.accountState(of: amy, at: 3_000) == AccountState(balance: .zero, debt: Points(100)))
        return ledger
    }

    @Test func aCompensationGrantRepaysDebtFirst() throws {
        var ledger = try indebted()
        var grant = Compensation.Request(batch: RequestID(unchecked: "B1"), part: nil, action: .grant, reason: "outage", reference: "INC-1",
                                         accounts: [amy])
        grant.points = Points(30)
        _ = try ledger.write(PreparedWrite(Compensation.self, grant), now: 4_000)
        #expect(ledger.accountState(of: amy, at: 4_000) == AccountState(balance: .zero, debt: Points(70)))
        grant.batch = RequestID(unchecked: "B2")
        grant.points = Points(100)
        _ = try ledger.write(PreparedWrite(Compensation.self, grant), now: 5_000)
        #expect(ledger.accountState(of: amy, at: 5_000) == AccountState(balance: Points(30), debt: .zero))
    }

    /// Reproduction 7 of "Two stores deciding at once": a campaign that starts before it is
    /// published needs a reason; its late credits for receipts rung up before publication record
    /// it and count against the month's budget (never refused by it); a receipt after
    /// publication earns it at the till, with no reason to record.
    @Test func aCampaignStartingInThePastNeedsAReasonItsCreditsRecord() throws {
        var ledger = MemoryLedger(origin: store1)
        let month = CalendarMonth(containing: 40 * day)
        _ = try ledger.write(PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .chain, points: Points(100))), now: 35 * day)
        _ = try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: amy, amount: Fen(9_000))), now: 36 * day)
        let backdated = campaign("bonus", .bonus(Points(1_000)), from: 30 * day, to: 60 * day, backdate: nil)
        #expect(throws: LedgerError.backdateReasonRequired(backdated.id, startsAt: 30 * day)) {
            try ledger.write(PreparedWrite(CampaignDefinition.self, backdated), now: 37 * day)
        }
        var explained = backdated
        explained.backdateReason = "promised in the flyer of day 30"
        _ = try ledger.write(PreparedWrite(CampaignDefinition.self, explained), now: 37 * day)
        let owed = try LateCampaigns.owed(by: store1, from: ledger)
        #expect(owed.count == 1)
        for write in owed {
            guard case .append(let credit) = try ledger.write(write, now: 38 * day) else { Issue.record("nothing credited"); continue }
            #expect(try CampaignCredit.historyFields(credit)["backdate_reason"] == .string("promised in the flyer of day 30"))
        }
        #expect(ledger.accountState(of: amy, at: 38 * day).balance == Points(1_090), "the budget never refuses a late credit")
        #expect(throws: LedgerError.budgetExhausted(scope: .chain, month: month, left: .zero, requested: Points(1_001)),
                "the budget is spent: the next earning (1 point and the bonus) is refused") {
            try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R2"), account: amy, amount: Fen(100))), now: 39 * day)
        }
        #expect(throws: Never.self, "a campaign starting later needs no reason") {
            try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("later", .multiplier(2), from: 50 * day, to: 60 * day, backdate: nil)),
                             now: 39 * day)
        }
    }

    @Test func aLateCampaignCreditRepaysDebtFirst() throws {
        var ledger = try indebted()
        // R2 earns 50, repaying half the debt; then a double-points campaign owes R2 50 more.
        _ = try ledger.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R2"), account: amy, amount: Fen(5_000))), now: 4_000)
        #expect(ledger.accountState(of: amy, at: 4_000) == AccountState(balance: .zero, debt: Points(50)))
        _ = try ledger.write(PreparedWrite(CampaignDefinition.self, campaign("double", .multiplier(2))), now: 5_000)
        let owed = try LateCampaigns.owed(by: store1, from: ledger)
        #expect(owed.count == 1, "R2 is owed; R1 was refunded in full")
        for write in owed { _ = try ledger.write(write, now: 6_000) }
        #expect(ledger.accountState(of: amy, at: 6_000) == AccountState(balance: .zero, debt: .zero))
    }
}

/// Reproduction 6 of "Two stores deciding at once": one campaign id published with other terms
/// on both sides of a cut. Merged, it is one whole definition (the first in ledger order), never
/// one side's terms with the other's publication; a new version of it may still change its end.
@Suite struct OneCampaignIDTwoDefinitions {
    @Test(arguments: [false, true])
    func theFirstDefinitionInLedgerOrderStandsWhole(doubleFirst: Bool) throws {
        var a = MemoryLedger(origin: store1), b = MemoryLedger(origin: store2)
        let double = campaign("cx", .multiplier(2)), tenfold = campaign("cx", .multiplier(10), from: day)
        _ = try a.write(PreparedWrite(CampaignDefinition.self, double), now: doubleFirst ? 1_000 : 2_000)
        _ = try b.write(PreparedWrite(CampaignDefinition.self, tenfold), now: doubleFirst ? 2_000 : 1_000)
        _ = a.apply(b.allEntries)
        _ = b.apply(a.allEntries)
        let first = doubleFirst ? double : tenfold
        for ledger in [a, b] {
            let merged = try #require(try ledger.catalog().campaigns[CampaignID(unchecked: "cx")])
            #expect(merged.effect == first.effect && merged.startsAt == first.startsAt && merged.publishedAt == 1_000,
                    "one whole definition: \(merged)")
        }
        // The second side, now knowing the first definition, changes its end: allowed, and it holds.
        var longer = first
        longer.endsAt += day
        _ = try a.write(PreparedWrite(CampaignDefinition.self, longer, versions: 2), now: 3_000)
        _ = b.apply(a.allEntries)
        #expect(try b.catalog().campaigns[CampaignID(unchecked: "cx")]?.endsAt == first.endsAt + day)
    }

    /// A receipt credited under a definition the merge voids keeps those points, and a later
    /// campaign's credit counts it at that definition's effect: it adds only what is not
    /// covered yet (it once counted the standing ×2 and credited on top of the void ×5).
    @Test func aCreditUnderAVoidDefinitionIsNotCreditedAgainByAnotherCampaign() throws {
        let amy = AccountID(unchecked: "amy")
        var a = MemoryLedger(origin: store1), b = MemoryLedger(origin: store2)
        _ = try b.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: amy, amount: Fen(10_000))), now: 500)
        _ = try a.write(PreparedWrite(CampaignDefinition.self, campaign("cx", .multiplier(2))), now: 1_000)
        _ = try b.write(PreparedWrite(CampaignDefinition.self, campaign("cx", .multiplier(5))), now: 2_000)
        for write in try LateCampaigns.owed(by: store2, from: b) { _ = try b.write(write, now: 2_500) }
        #expect(b.accountState(of: amy, at: 3_000).balance == Points(500), "b credited R1 under its ×5")
        _ = b.apply(a.allEntries)
        #expect(try b.catalog().campaigns[CampaignID(unchecked: "cx")]?.effect == .multiplier(2) && b.catalog().voidCampaigns.count == 1)
        _ = try b.write(PreparedWrite(CampaignDefinition.self, campaign("triple", .multiplier(3))), now: 4_000)
        #expect(try LateCampaigns.owed(by: store2, from: b).isEmpty, "×3 adds nothing to a receipt credited ×5")
        #expect(b.accountState(of: amy, at: 5_000).balance == Points(500))
    }
}

/// When a store sweeps for the late credits it owes: after every catalog change, and again
/// after a sweep that could not write them all, once the retry delay has passed.
@Suite struct LateCreditScheduleTests {
    @Test func aSweepThatLeftCreditsUnwrittenIsTriedAgainAfterTheDelay() {
        var schedule = LateCreditSchedule(retryDelay: 30_000)
        #expect(schedule.isDue(catalogEntries: 0, now: 0), "the first look sweeps")
        schedule.swept(catalogEntries: 3, failed: 0, now: 1_000)
        #expect(!schedule.isDue(catalogEntries: 3, now: 2_000) && !schedule.isRetrying)
        #expect(schedule.isDue(catalogEntries: 4, now: 2_000), "a catalog change sweeps")
        schedule.swept(catalogEntries: 4, failed: 2, now: 2_000)
        #expect(schedule.isRetrying)
        #expect(!schedule.isDue(catalogEntries: 4, now: 31_999) && !schedule.isDue(catalogEntries: 5, now: 31_999), "no retry storm while storage fails")
        #expect(schedule.isDue(catalogEntries: 4, now: 32_000), "the same catalog is swept again: its credits are still owed")
        schedule.swept(catalogEntries: 4, failed: 0, now: 32_000)
        #expect(!schedule.isDue(catalogEntries: 4, now: 100_000) && !schedule.isRetrying)
    }
}
