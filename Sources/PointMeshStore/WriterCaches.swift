import PointMeshCore

/// What the writer's connection keeps in memory between writes, as one value: the database
/// holds it whole or not at all (`LedgerDatabase.caches`: nil on a reader, which can't see the
/// writes that would change it). Every field is kept equal to the tables by the writes that
/// change them; a transaction that rolls back drops the whole value for a fresh one
/// (`LedgerDatabase.forgetCachedFacts`).
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
