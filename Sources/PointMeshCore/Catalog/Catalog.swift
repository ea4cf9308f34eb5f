/// HQ's definitions as the entries that published them leave them: campaigns, green
/// categories, rewards, monthly issuance budgets and the point value. A fold of the definition entries in ledger
/// order: for each campaign, reward or budget, the latest version wins; a withdrawal ends one
/// from its own instant on. Every definition entry declares the link `catalog`, so a node finds
/// them all without reading its history; the store keeps the fold cached on its writer.
public struct Catalog: Sendable {
    public var campaigns: [CampaignID: Campaign] = [:] {
        didSet { campaignsInIDOrder = campaigns.values.sorted { $0.id < $1.id } }
    }
    /// `campaigns` sorted by id, the order earnings visit them in (`EarningRules`): sorted once
    /// per catalog rather than once per purchase.
    public private(set) var campaignsInIDOrder: [Campaign] = []
    /// Definitions the merge voided: a campaign id published with other terms where the first
    /// had not arrived. Receipts credited under one keep it; later credits of the receipt count
    /// it as applied at its own effect, so they never add on top of it (`CampaignCredit.owed`).
    public var voidCampaigns: [CampaignID: [Campaign]] = [:]
    public var greenCategories: Set<CategoryID> = []
    public var rewards: [RequestID: Reward] = [:]
    public var budgets: [CalendarMonth: [BudgetScope: Points]] = [:]
    /// The node that set each month's chain budget last: it holds the budget's rights to issue
    /// not yet handed out (`RightsToIssue`).
    public var chainBudgetSetters: [CalendarMonth: NodeID] = [:]
    /// What points are worth, the latest version in ledger order (`PointValueKind`).
    public var pointValue: PointValue?

    public init() {}

    /// The link every definition entry declares.
    public static let link = "catalog"

    /// The catalog `entries` (any order; entries of other kinds are ignored) define.
    public static func fold(_ entries: [LedgerEntry]) -> Catalog {
        var catalog = Catalog()
        // Folded apart and set once: each change of `catalog.campaigns` sorts them again.
        var campaigns: [CampaignID: Campaign] = [:]
        for entry in entries.sorted(by: { LotOrder($0) < LotOrder($1) }) {
            let instant = entry.timestamp.wallMilliseconds
            switch entry.code {
            case CampaignDefinition.code:
                guard var campaign = try? CampaignDefinition.campaign(entry) else { continue }
                // The first definition in ledger order fixes the terms; a later one with other
                // terms (published at a node that had not seen the first) is void, so a campaign
                // is always one whole definition, never a mix (rules.md, section 9).
                if let first = campaigns[campaign.id], !first.hasSameTerms(as: campaign) {
                    catalog.voidCampaigns[campaign.id, default: []].append(campaign)
                    continue
                }
                campaign.publishedAt = campaigns[campaign.id]?.publishedAt ?? instant
                campaign.backdateReason = campaigns[campaign.id]?.backdateReason ?? campaign.backdateReason
                campaign.withdrawnAt = campaigns[campaign.id]?.withdrawnAt
                campaigns[campaign.id] = campaign
            case CampaignWithdrawal.code:
                guard let id = try? CampaignID(validating: entry.idempotencyKey.id), campaigns[id]?.withdrawnAt == nil else { continue }
                campaigns[id]?.withdrawnAt = instant
            case GreenCategory.code:
                if let category = try? CategoryID(validating: entry.idempotencyKey.id) { catalog.greenCategories.insert(category) }
            case RewardDefinition.code:
                guard var reward = try? RewardDefinition.reward(entry) else { continue }
                reward.withdrawnAt = catalog.rewards[reward.id]?.withdrawnAt
                catalog.rewards[reward.id] = reward
            case RewardWithdrawal.code:
                guard let id = try? RequestID(validating: entry.idempotencyKey.id), catalog.rewards[id]?.withdrawnAt == nil else { continue }
                catalog.rewards[id]?.withdrawnAt = instant
            case PointValueKind.code:
                if let value = try? PointValueKind.value(entry) { catalog.pointValue = value }
            case BudgetDefinition.code:
                guard let (month, scope, points) = try? BudgetDefinition.budget(entry) else { continue }
                catalog.budgets[month, default: [:]][scope] = points
                if scope == .chain { catalog.chainBudgetSetters[month] = entry.id.origin }
            default:
                continue
            }
        }
        catalog.campaigns = campaigns
        return catalog
    }

    /// Every definition of `id`: the standing one, then those the merge voided.
    public func definitions(of id: CampaignID) -> [Campaign] {
        (campaigns[id].map { [$0] } ?? []) + (voidCampaigns[id] ?? [])
    }

    /// The campaigns that apply to a purchase at `instant` at `store`, in id order.
    public func campaigns(at instant: Int64, store: NodeID) -> [Campaign] {
        campaignsInIDOrder.filter { $0.applies(at: instant, store: store) }
    }

    /// `campaigns(at:store:)`, with the instants around `instant` it holds for.
    public func campaignsInForce(at instant: Int64, store: NodeID) -> CampaignsInForce {
        var from = Int64.min, until = Int64.max
        for campaign in campaignsInIDOrder where campaign.stores.isEmpty || campaign.stores.contains(store) {
            for boundary in [campaign.startsAt, campaign.endsAt, campaign.withdrawnAt ?? .max] {
                if boundary <= instant { from = max(from, boundary) } else { until = min(until, boundary) }
            }
        }
        return CampaignsInForce(store: store, span: from..<until, campaigns: campaigns(at: instant, store: store))
    }


    /// The month's chain budget and the node that set it last.
    public func chainBudget(in month: CalendarMonth) -> (points: Points, setter: NodeID)? {
        guard let points = budgets[month]?[.chain], let setter = chainBudgetSetters[month] else { return nil }
        return (points, setter)
    }

    /// The budgets that limit `store`'s issuance in `month`: the chain's and its own.
    public func budgets(for store: NodeID, in month: CalendarMonth) -> [(scope: BudgetScope, points: Points)] {
        guard let month = budgets[month] else { return [] }
        return [BudgetScope.chain, .store(store)].compactMap { scope in month[scope].map { (scope, $0) } }
    }
}

/// The campaigns in force at one store over a span of instants in which none of its campaigns
/// starts, ends or is withdrawn: `Campaign.applies` changes only at those instants, so the list
/// holds throughout. The writer keeps one, so a purchase doesn't filter every campaign the
/// chain ever published.
public struct CampaignsInForce: Sendable {
    public var store: NodeID
    public var span: Range<Int64>
    /// In id order.
    public var campaigns: [Campaign]

    public func holds(at instant: Int64, store: NodeID) -> Bool { span.contains(instant) && store == self.store }
}
