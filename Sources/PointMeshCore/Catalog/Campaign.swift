/// A campaign's id.
public struct CampaignID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A campaign as HQ published it: a window `[startsAt, endsAt)`, a scope (listed stores, or the
/// whole chain when none), a filter (listed categories, or the whole receipt when none), an
/// effect, and whether its points are green. Withdrawing it ends it at `withdrawnAt`. One that
/// starts before it was published says why (`backdateReason`): receipts already rung up earn
/// its points as late credits, which count against issuance budgets with that reason.
public struct Campaign: Hashable, Sendable {
    /// What a campaign adds to an eligible purchase.
    public enum Effect: Hashable, Sendable {
        /// Eligible amounts earn `n` times the base rate (2…10).
        case multiplier(Int64)
        /// A fixed number of points per eligible receipt.
        case bonus(Points)
    }

    public var id: CampaignID
    public var name: String
    public var startsAt: Int64
    public var endsAt: Int64
    public var stores: [NodeID]
    public var categories: [CategoryID]
    public var effect: Effect
    public var green: Bool
    /// Why it starts before its publication (required then), recorded on its late credits for
    /// receipts rung up before it was published.
    public var backdateReason: String?
    public var publishedAt: Int64 = 0
    public var withdrawnAt: Int64?

    public init(id: CampaignID, name: String, startsAt: Int64, endsAt: Int64, stores: [NodeID] = [], categories: [CategoryID] = [],
                effect: Effect, green: Bool = false, backdateReason: String? = nil) {
        self.id = id
        self.name = name
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.stores = stores
        self.categories = categories
        self.effect = effect
        self.green = green
        self.backdateReason = backdateReason
    }

    /// The largest multiplier a campaign may have.
    public static let maximumMultiplier: Int64 = 10

    /// The instants it applies in (at its stores): its window, cut at its withdrawal; empty
    /// when withdrawn before it started.
    public var activeWindow: Range<Int64> { startsAt..<max(startsAt, min(endsAt, withdrawnAt ?? .max)) }

    /// Whether it applies to a purchase at `instant` at `store`.
    public func applies(at instant: Int64, store: NodeID) -> Bool {
        instant >= startsAt && instant < endsAt && withdrawnAt.map { instant < $0 } != false && (stores.isEmpty || stores.contains(store))
    }

    /// Whether a receipt line of `category` (nil: the part of the receipt no item names) is eligible.
    public func matches(_ category: CategoryID?) -> Bool {
        if categories.isEmpty { return true }
        guard let category else { return false }
        // By the text, directly: this runs for every line and campaign of every purchase.
        for candidate in categories where candidate.rawValue == category.rawValue { return true }
        return false
    }

    /// Whether `other` has the terms that may not change once published (all but the name and
    /// the end): a new version of this campaign, or a different campaign under its id.
    func hasSameTerms(as other: Campaign) -> Bool {
        startsAt == other.startsAt && Set(stores) == Set(other.stores) && Set(categories) == Set(other.categories)
            && effect == other.effect && green == other.green
    }

    /// The terms as text, for the request hash (the form release 0.5 hashed).
    var terms: String {
        "\(startsAt)|\(stores.map(\.rawValue).sorted())|\(categories.map(\.rawValue).sorted())|\(effect)|\(green)"
    }
}
