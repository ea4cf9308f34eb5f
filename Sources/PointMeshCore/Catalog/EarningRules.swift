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

    /// A receipt's fen of one category, or (`category` nil) the part of its amount no item
    /// names. A struct, not a tuple: an array of tuples is destroyed element by element through
    /// the runtime's generic code, which cost a 20-line purchase more than summing its lines.
    public struct CategoryFen: Sendable, Equatable {
        public let category: CategoryID?
        public let fen: Int64

        public init(_ category: CategoryID?, _ fen: Int64) {
            self.category = category
            self.fen = fen
        }
    }

    /// A receipt's lines: its items' amounts summed per category (in first-seen order), then the
    /// part of the amount they don't cover. Every rule here is linear in a line's fen and looks
    /// only at its category, so summing per category changes no result and leaves fewer lines.
    public static func lines(amount: Fen, items: [PurchaseItem]) -> [CategoryFen] {
        ReceiptLines(amount: amount, items: items).sums
    }

    /// The earning of a receipt under `campaigns` (those in force for its store and instant).
    public static func earning(amount: Fen, items: [PurchaseItem], campaigns: [Campaign], green: Set<CategoryID>) -> Earning {
        earning(amount: amount, lines: lines(amount: amount, items: items), campaigns: campaigns, green: green)
    }

    /// `earning`, given the receipt's `lines(amount:items:)`.
    public static func earning(amount: Fen, lines: [CategoryFen], campaigns: [Campaign], green: Set<CategoryID>) -> Earning {
        Rates(campaigns: campaigns, green: green).earning(amount: amount, lines: lines)
    }

    /// The campaigns in force and the green categories, arranged once so that each purchase's
    /// earning takes one lookup per line instead of a comparison per line and campaign (this
    /// runs for every purchase): for each category a campaign names or HQ marks green, what a
    /// line of it gets (the multiplier it takes, the bonuses it triggers, whether it is green),
    /// and what every other line gets (the whole-receipt campaigns' alone). A class: the writer
    /// hands the one it keeps to every purchase's facts.
    public final class Rates: Sendable {
        /// In id order.
        public let campaigns: [Campaign]
        public let green: Set<CategoryID>
        /// Index into `rates` of each category a campaign names or HQ marks green.
        private let named: CategoryIndex
        /// What a line of no such category, or of no category, gets: the last element.
        private let rates: [LineRate]
        /// The bonuses of all the rates, each rate's a range of it.
        private let bonuses: [Int]

        /// What a line gets: the index of the multiplier campaign it goes to (the largest
        /// factor among those matching it, the first in id order on a tie; -1 for none), the
        /// bonus campaigns it triggers (a range of `bonuses`), and whether it is green.
        private struct LineRate {
            var multiplier = -1
            var factor: Int64 = 0
            var bonuses = 0..<0
            var green = false
        }

        /// No campaigns, no green categories: the base rate alone.
        public static let none = Rates(campaigns: [], green: [])

        public init(campaigns given: [Campaign], green: Set<CategoryID>) {
            let campaigns = given.indices.dropFirst().allSatisfy({ given[$0 - 1].id < given[$0].id }) ? given : given.sorted { $0.id < $1.id }
            self.campaigns = campaigns
            self.green = green
            var categories: [CategoryID] = []
            var seen: Set<CategoryID> = []
            for category in campaigns.flatMap(\.categories) + green.sorted(by: { $0.rawValue < $1.rawValue }) where seen.insert(category).inserted {
                categories.append(category)
            }
            var rates: [LineRate] = [], bonuses: [Int] = []
            for category in categories.map(Optional.some) + [nil] {
                var rate = LineRate(green: category.map(green.contains) ?? false)
                let first = bonuses.count
                for index in campaigns.indices where campaigns[index].matches(category) {
                    switch campaigns[index].effect {
                    case .multiplier(let n) where n > rate.factor: (rate.multiplier, rate.factor) = (index, n)
                    case .multiplier: break
                    case .bonus: bonuses.append(index)
                    }
                }
                rate.bonuses = first..<bonuses.count
                rates.append(rate)
            }
            named = CategoryIndex(categories)
            self.rates = rates
            self.bonuses = bonuses
        }

        /// The earning of a receipt of `lines` (`lines(amount:items:)`) for `amount`.
        public func earning(amount: Fen, lines: [CategoryFen]) -> Earning {
            var result = Earning(base: Points(amount.value / 100), greenBase: .zero, campaigns: [])
            // Most purchases: the base rate alone.
            guard !campaigns.isEmpty || !green.isEmpty else { return result }
            var greenFen: Int64 = 0
            result.campaigns.reserveCapacity(campaigns.count)
            result.considered.reserveCapacity(campaigns.count)
            withUnsafeTemporaryAllocation(of: Int64.self, capacity: campaigns.count) { tally in
                // A multiplier's tally is the fen of the lines it won; a bonus's is 1 once a line triggers it.
                tally.initialize(repeating: 0)
                for line in lines {
                    let rate = rates[line.category.flatMap(named.position(of:)) ?? rates.count - 1]
                    if rate.green { greenFen += line.fen }
                    if rate.multiplier >= 0 { tally[rate.multiplier] += line.fen }
                    for bonus in bonuses[rate.bonuses] { tally[bonus] = 1 }
                }
                for index in campaigns.indices {
                    let points: Points
                    switch campaigns[index].effect {
                    case .multiplier(let n): points = tally[index] > 0 ? Points(scaled(tally[index], by: n - 1)) : .zero
                    case .bonus(let bonus): points = tally[index] > 0 ? bonus : .zero
                    }
                    if points > .zero {
                        result.campaigns.append(CampaignPoints(campaign: campaigns[index].id, points: points, green: campaigns[index].green))
                    } else {
                        result.considered.append(campaigns[index].id)
                    }
                }
            }
            result.greenBase = Points(greenFen / 100)
            return result
        }
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
