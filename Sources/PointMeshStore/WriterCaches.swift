import PointMeshCore

/// What the writer keeps in memory between writes, as one value (`LedgerWriter.caches`; a
/// reader caches nothing, since it can't see the writes that would change it). Every field is
/// kept equal to the tables by the writes that change them; a transaction that rolls back
/// drops the whole value for a fresh one (`LedgerWriter.dropCaches`).
struct WriterCaches {
    /// The expiry policy versions.
    var policies: ExpiryPolicies?
    /// The catalog, folded once and kept until a definition entry is written or received.
    var catalog: Catalog? {
        didSet { rates = nil }
    }
    /// The campaigns in force and their earning rates, read from `catalog`: dropped with it.
    var rates: (inForce: CampaignsInForce, rates: EarningRules.Rates)?
    /// Customers who ever joined a family with auto-pooling (`autoPoolFamily`).
    var autoPoolers: Set<AccountID>?
    /// The last deficit `accountFacts` read, so the same write's lot update needn't read it
    /// again; dropped whenever lots of that account are written.
    var lastDeficit: (account: AccountID, deficit: Points)?
    /// Accounts' facts as the writer last read or wrote them, while no lot changes state
    /// (`StableAccountFacts`): dropped whenever the account's lots, deficit or debt are written
    /// otherwise than by a whole-lot credit, which is added to them.
    var stableFacts: [AccountID: StableAccountFacts] = [:]
    /// The chain's issuance in one month as last summed (a chain budget's check), kept equal to
    /// the counters by every change of one of them (`addToBalance`), so a purchase doesn't sum
    /// every store's counter.
    var chainIssued: (month: CalendarMonth, points: Points)?

    /// Drops the folds an entry of a kind that declares `folds` outdates.
    mutating func drop(_ folds: StoreFolds) {
        if folds.contains(.catalog) { catalog = nil }
        if folds.contains(.expiryPolicies) { policies = nil }
        if folds.contains(.autoPooling) { autoPoolers = nil }
    }

    /// At most this many accounts' facts are kept (a few MB); past it they are all dropped.
    static let stableFactsLimit = 50_000
}

/// The writer as the facts source of the writes it decides: the facts every write reads come
/// from `caches` while they hold; the rest are its reader's.
extension LedgerWriter {
    public func countingEntries(for key: IdempotencyKey) throws -> [LedgerEntry] { try reader.countingEntries(for: key) }
    public func balance(_ key: BalanceKey) throws -> Balance { try reader.balance(key) }
    public func linkedEntries(_ link: String) throws -> [LedgerEntry] { try reader.linkedEntries(link) }
    public func lotBook(of account: AccountID) throws -> LotBook { try reader.lotBook(of: account) }
    public func isKnown(_ account: AccountID) throws -> Bool { try reader.isKnown(account) }
    public func isChainNode(_ node: NodeID) throws -> Bool { try reader.isChainNode(node) }
    public func pendingPoints(of account: AccountID, source: String, at instant: Int64, heldBy holder: NodeID?) throws -> Points {
        try reader.pendingPoints(of: account, source: source, at: instant, heldBy: holder)
    }
    public func heldRights(of account: AccountID, by node: NodeID, at instant: Int64) throws -> HeldRights {
        try reader.heldRights(of: account, by: node, at: instant)
    }
    public func accounts(withLotsExpiring expiring: ClosedRange<Int64>, limit: Int) throws -> [AccountID] {
        try reader.accounts(withLotsExpiring: expiring, limit: limit)
    }
    public func entries(coded code: EntryCode, of origin: NodeID, during: Range<Int64>, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try reader.entries(coded: code, of: origin, during: during, after: after, limit: limit)
    }

    /// Kept while no lot of the account changes state (`StableAccountFacts`), so a customer's
    /// next purchase reads no lot rows; the deficit read is kept for the lot update of the same
    /// write (`LotFold`).
    public func accountFacts(of account: AccountID, at instant: Int64) throws -> AccountFacts {
        if let known = caches.stableFacts[account]?.facts(at: instant) {
            caches.lastDeficit = (account, known.summary.deficit)
            return known
        }
        let (facts, nextChange) = try reader.accountFactsUntilChange(of: account, at: instant)
        caches.lastDeficit = (account, facts.summary.deficit)
        if caches.stableFacts.count >= WriterCaches.stableFactsLimit { caches.stableFacts.removeAll(keepingCapacity: true) }
        caches.stableFacts[account] = StableAccountFacts(facts, readAt: instant, nextChange: nextChange)
        return facts
    }

    public func expiryPolicies() throws -> ExpiryPolicies {
        if let cached = caches.policies { return cached }
        let policies = try reader.expiryPolicies()
        caches.policies = policies
        return policies
    }

    /// Folded once and kept until a definition entry is written or received (every purchase reads it).
    public func catalog() throws -> Catalog {
        if let cached = caches.catalog { return cached }
        let catalog = try reader.catalog()
        caches.catalog = catalog
        return catalog
    }

    /// Kept while the campaigns in force hold (`CampaignsInForce`) and the catalog is
    /// unchanged: arranged once, not for every purchase.
    public func earningRates(at instant: Int64, store: NodeID) throws -> EarningRules.Rates {
        if let cached = caches.rates, cached.inForce.holds(at: instant, store: store) { return cached.rates }
        let catalog = try catalog()
        let inForce = catalog.campaignsInForce(at: instant, store: store)
        let rates = EarningRules.Rates(campaigns: inForce.campaigns, green: catalog.greenCategories)
        caches.rates = (inForce, rates)
        return rates
    }

    /// A purchase asks this of every customer: the writer keeps the customers who ever joined
    /// with auto-pooling, and reads the membership only of those.
    public func autoPoolFamily(of account: AccountID) throws -> FamilyID? {
        let candidates = try caches.autoPoolers ?? reader.autoPoolers()
        caches.autoPoolers = candidates
        guard candidates.contains(account) else { return nil }
        return try reader.autoPoolFamily(of: account)
    }

    /// The chain's issuance in a month is kept equal to the counters by `addToBalance`, so a
    /// budget check doesn't sum every store's counter on every purchase.
    public func monthlyCounters(in month: CalendarMonth) throws -> MonthlyCounters { try reader.monthlyCounters(in: month) }

    public func issued(by store: NodeID?, in month: CalendarMonth) throws -> Points {
        if store == nil, let known = caches.chainIssued, known.month == month { return known.points }
        let points = try reader.issued(by: store, in: month)
        if store == nil { caches.chainIssued = (month, points) }
        return points
    }
}
