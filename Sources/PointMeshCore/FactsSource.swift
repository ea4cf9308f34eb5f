/// The look-ups a kind's decision may make, answered by the SQLite store and by `MemoryLedger`
/// alike, inside the write's transaction.
public protocol FactsSource {
    /// The entries that count for `key` (never a duplicate), earliest first
    /// (`ReplicationRules.precedes`): one, or several when different requests named the same id
    /// at nodes that had not seen each other (a clash: each is a write of its own).
    func countingEntries(for key: IdempotencyKey) throws -> [LedgerEntry]
    /// The totals of one balance, summed over origins; zero for one never touched.
    func balance(_ key: BalanceKey) throws -> Balance
    /// Counting entries that declared `link` (`EntryLinks`), in no particular order.
    func linkedEntries(_ link: String) throws -> [LedgerEntry]
    /// A customer's open lots and deficit, as its entries in ledger order left them.
    func lotBook(of account: AccountID) throws -> LotBook
    /// A customer's points at `instant` (without `expiring` and `expired`) and debt: what every
    /// decision about a customer reads. By default from `lotBook`; a store answers it with sums
    /// over the lots not yet expired.
    func accountFacts(of account: AccountID, at instant: Int64) throws -> AccountFacts
    /// Points of `account`'s lots from `source` still pending at `instant` (of those `holder`
    /// holds, when given).
    func pendingPoints(of account: AccountID, source: String, at instant: Int64, heldBy holder: NodeID?) throws -> Points
    /// The spending rights `node` holds on `account` at `instant` (`LotBook.rights`).
    func heldRights(of account: AccountID, by node: NodeID, at instant: Int64) throws -> HeldRights
    /// Every published expiry policy version.
    func expiryPolicies() throws -> ExpiryPolicies
    /// Whether any entry concerns `account`.
    func isKnown(_ account: AccountID) throws -> Bool
    /// Accounts holding lots that expire within `expiring`, in id order, at most `limit`.
    func accounts(withLotsExpiring expiring: ClosedRange<Int64>, limit: Int) throws -> [AccountID]
    /// HQ's definitions (campaigns, green categories, rewards, budgets). By default a fold of
    /// the entries linked `catalog`; the store keeps it cached on its writer.
    func catalog() throws -> Catalog
    /// The campaigns that apply to a purchase at `store` at `instant` (in id order) and the
    /// green categories, arranged for the earning (`EarningRules.Rates`). By default read from
    /// `catalog()`; the store keeps them while the campaigns in force hold (`CampaignsInForce`).
    func earningRates(at instant: Int64, store: NodeID) throws -> EarningRules.Rates
    /// The family whose pool `account`'s earnings go to now, if it auto-pools. By default a fold
    /// of its membership entries; the store first checks whether any customer ever asked for it.
    func autoPoolFamily(of account: AccountID) throws -> FamilyID?
    /// The counting entries of kind `code` that `origin` wrote with timestamps in `during`, in
    /// sequence order: the first `limit` with sequences after `after`.
    func entries(coded code: EntryCode, of origin: NodeID, during: Range<Int64>, after: Int64, limit: Int) throws -> [LedgerEntry]
    /// Whether `node` is a node of the chain this node knows of and not retired: itself, a
    /// member of its membership (as last saved), or the origin of entries it holds.
    func isChainNode(_ node: NodeID) throws -> Bool
    /// Points `store` (every store when nil) issued in `month`: its issuance counter for the month.
    func issued(by store: NodeID?, in month: CalendarMonth) throws -> Points
    /// Every node's issuance counter and rights to issue of `month` (`RightsToIssue`).
    func monthlyCounters(in month: CalendarMonth) throws -> MonthlyCounters
}

extension FactsSource {
    /// The entry that counts for exactly this request (`key` and `hash`), wherever it was made.
    public func countingEntry(for key: IdempotencyKey, hash: RequestHash) throws -> LedgerEntry? {
        try countingEntries(for: key).first { $0.requestHash == hash }
    }

    /// The first of `countingEntries(for:)`: the only one unless the key clashed.
    public func countingEntry(for key: IdempotencyKey) throws -> LedgerEntry? { try countingEntries(for: key).first }

    public func catalog() throws -> Catalog { Catalog.fold(try linkedEntries(Catalog.link)) }

    public func earningRates(at instant: Int64, store: NodeID) throws -> EarningRules.Rates {
        let catalog = try catalog()
        return EarningRules.Rates(campaigns: catalog.campaigns(at: instant, store: store), green: catalog.greenCategories)
    }

    public func autoPoolFamily(of account: AccountID) throws -> FamilyID? { try FamilyMembership.autoPool(of: account, from: self) }

    public func accountFacts(of account: AccountID, at instant: Int64) throws -> AccountFacts {
        var summary = try lotBook(of: account).summary(at: instant, expiringLimit: 0)
        summary.expired = .zero
        return AccountFacts(summary: summary, debt: try balance(BalanceKey(LedgerAccount(account), .debt)).posted)
    }

    public func pendingPoints(of account: AccountID, source: String, at instant: Int64, heldBy holder: NodeID?) throws -> Points {
        try lotBook(of: account).lots.filter { $0.source == source && $0.isPending(at: instant) && (holder == nil || $0.holder == holder) }
            .reduce(.zero) { $0 + $1.remaining }
    }

    public func heldRights(of account: AccountID, by node: NodeID, at instant: Int64) throws -> HeldRights {
        try lotBook(of: account).rights(of: node, at: instant)
    }

    /// A customer's spendable points, debt and pending points at `instant`.
    public func accountState(of account: AccountID, at instant: Int64) throws -> AccountState {
        try accountFacts(of: account, at: instant).state
    }
}

/// A customer's points at one instant and its debt: what a decision reads. Its `summary` leaves
/// out `expiring` and `expired` (0): no decision needs them, and reading them would make every
/// write to an account read all the lots that expired over the years.
public struct AccountFacts: Hashable, Sendable {
    public var summary: LotSummary
    public var debt: Points

    public init(summary: LotSummary, debt: Points) {
        self.summary = summary
        self.debt = debt
    }

    public static let empty = AccountFacts(summary: LotSummary(spendable: .zero), debt: .zero)

    public var state: AccountState { AccountState(balance: summary.spendable, debt: debt, pending: summary.pending) }
}
