/// How a purchase's points are computed: the base rate, the campaigns in force and green
/// categories. Pure: the store that rings the purchase up and any node checking it compute the
/// same from the same inputs.
///
/// - Base: 1 point per whole yuan of the receipt's amount.
/// - Lines: the receipt's items, and the part of the amount no item names (no category).
/// - Multipliers: each line takes at most one, the largest among the campaigns that match it
///   (the smaller id on a tie). A multiplier campaign adds `floor(E × (n − 1) / 100)` points, E
///   the fen of the lines it won: one rounding per campaign, so the points never exceed what the
///   whole receipt at its lines' multipliers allows.
/// - Bonuses add: each bonus campaign matching any line adds its points once.
/// - Green: the base points of green lines (`floor(green fen / 100)`) and every green campaign's
///   points are green; the rest are regular.
public enum EarningRules {
    /// What a purchase earns.
    public struct Earning: Hashable, Sendable {
        public var base: Points
        public var greenBase: Points
        public var campaigns: [CampaignPoints]
        /// The campaigns in force that added nothing, in id order (the entry records them too).
        public var considered: [CampaignID] = []

        public var total: Points { campaigns.reduce(base) { $0 + $1.points } }
        public var green: Points { campaigns.reduce(greenBase) { $1.green ? $0 + $1.points : $0 } }
        public var regular: Points { total - green }
    }

    /// Points one campaign added to a receipt.
    public struct CampaignPoints: Hashable, Sendable {
        public var campaign: CampaignID
        public var points: Points
        public var green: Bool

        public init(campaign: CampaignID, points: Points, green: Bool) {
            self.campaign = campaign
            self.points = points
            self.green = green
        }
    }

    /// A receipt's lines: its items' amounts summed per category (in first-seen order), then the
    /// part of the amount they don't cover. Every rule here is linear in a line's fen and looks
    /// only at its category, so summing per category changes no result and leaves fewer lines.
    public static func lines(amount: Fen, items: [PurchaseItem]) -> [(category: CategoryID?, fen: Int64)] {
        ReceiptLines(amount: amount, items: items).sums
    }

    /// The earning of a receipt under `campaigns` (those in force for its store and instant).
    public static func earning(amount: Fen, items: [PurchaseItem], campaigns: [Campaign], green: Set<CategoryID>) -> Earning {
        earning(amount: amount, lines: lines(amount: amount, items: items), campaigns: campaigns, green: green)
    }

    /// `earning`, given the receipt's `lines(amount:items:)`. This runs on the writer thread for
    /// every purchase: campaigns are visited in id order (as `Catalog.campaigns(at:store:)`
    /// gives them; others are sorted first), each read once.
    public static func earning(amount: Fen, lines: [(category: CategoryID?, fen: Int64)], campaigns given: [Campaign], green: Set<CategoryID>) -> Earning {
        let campaigns = given.indices.dropFirst().allSatisfy({ given[$0 - 1].id < given[$0].id }) ? given : given.sorted { $0.id < $1.id }
        // Most purchases: the base rate alone.
        if campaigns.isEmpty, green.isEmpty || !lines.contains(where: { $0.category != nil }) {
            return Earning(base: Points(amount.value / 100), greenBase: .zero, campaigns: [])
        }
        var greenFen: Int64 = 0
        if !green.isEmpty {
            // A chain marks a few categories green: comparing each line's text with them costs
            // less than hashing it (this runs on the writer for every purchase).
            let few = green.count <= 8 ? green.map(\.rawValue) : nil
            for line in lines {
                guard let category = line.category else { continue }
                if few.map({ $0.contains(category.rawValue) }) ?? green.contains(category) { greenFen += line.fen }
            }
        }
        var result = Earning(base: Points(amount.value / 100), greenBase: Points(greenFen / 100), campaigns: [])
        result.campaigns.reserveCapacity(campaigns.count)
        // Each line's fen go to its largest multiplier, the first in id order on a tie. Campaigns
        // are the outer loop, so each is read once rather than once per line.
        var best = [(factor: Int64, campaign: Int)](repeating: (0, -1), count: lines.count)
        // Campaigns are read in place, not copied: a copy retains and releases its arrays.
        for index in campaigns.indices {
            guard case .multiplier(let n) = campaigns[index].effect else { continue }
            for line in lines.indices where n > best[line].factor && campaigns[index].matches(lines[line].category) {
                best[line] = (n, index)
            }
        }
        var eligible = [Int64](repeating: 0, count: campaigns.count)
        for (line, winner) in best.enumerated() where winner.campaign >= 0 { eligible[winner.campaign] += lines[line].fen }
        for index in campaigns.indices {
            let points: Points
            switch campaigns[index].effect {
            case .multiplier(let n):
                points = eligible[index] > 0 ? Points(scaled(eligible[index], by: n - 1)) : .zero
            case .bonus(let bonus):
                points = lines.contains(where: { campaigns[index].matches($0.category) }) ? bonus : .zero
            }
            if points > .zero {
                result.campaigns.append(CampaignPoints(campaign: campaigns[index].id, points: points, green: campaigns[index].green))
            } else {
                result.considered.append(campaigns[index].id)
            }
        }
        return result
    }

    /// What `campaign`, learned late, owes a receipt that already earned with `applied` (the
    /// campaigns its earning and earlier late credits counted): for each line it matches, the
    /// multiplier it has beyond the largest the line already earned with; or its bonus if no
    /// applied campaign is it. Zero when it owes nothing.
    public static func lateCredit(_ campaign: Campaign, amount: Fen, items: [PurchaseItem], applied: [Campaign]) -> Points {
        guard !applied.contains(where: { $0.id == campaign.id }) else { return .zero }
        let lines = lines(amount: amount, items: items)
        switch campaign.effect {
        case .bonus(let bonus):
            return lines.contains { campaign.matches($0.category) } ? bonus : .zero
        case .multiplier(let n):
            var weighted: Int64 = 0
            for line in lines where campaign.matches(line.category) {
                var current: Int64 = 1
                for other in applied where other.matches(line.category) {
                    if case .multiplier(let m) = other.effect { current = max(current, m) }
                }
                if n > current { weighted += line.fen * (n - current) }
            }
            return Points(weighted / 100)
        }
    }

    /// `floor(fen × factor / 100)`, without overflow for the largest amounts (≤ 10^12 fen × 9).
    static func scaled(_ fen: Int64, by factor: Int64) -> Int64 {
        let product = fen.multipliedFullWidth(by: factor)
        return Int64(100).dividingFullWidth(product).quotient
    }
}
