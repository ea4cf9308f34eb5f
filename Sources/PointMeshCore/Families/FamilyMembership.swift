/// Which family a customer belongs to: a fold of the customer's join and leave entries in
/// ledger order (`LotOrder`), so every node that holds the same entries agrees, whatever order
/// they arrived in.
///
/// The rule for two cut-off stores that put one customer into two families: the join first in
/// ledger order wins. A join while the customer is in a family is void (it changes nothing, and
/// a transfer decided on it does not stand, `FamilyCondition`); a leave of a family the
/// customer is not in is void too.
public enum FamilyMembership {
    /// The link on a customer's join and leave entries, so its membership is found without its
    /// history.
    public static func memberLink(_ account: AccountID) -> String { "member:\(account.rawValue)" }
    /// The link on every join and leave of a family, so its members are found.
    public static func familyLink(_ family: FamilyID) -> String { "family:\(family.rawValue)" }

    /// A change a membership entry records. `autoPool`: the member's earnings go to the pool.
    public enum Change: Hashable, Sendable {
        case join(FamilyID, autoPool: Bool)
        case leave(FamilyID)

        var family: FamilyID {
            switch self {
            case .join(let family, _), .leave(let family): family
            }
        }
    }

    /// The change `entry` records, if it is a join or a leave.
    public static func change(of entry: LedgerEntry) -> Change? {
        guard entry.code == FamilyJoin.code || entry.code == FamilyLeave.code, let reader = try? entry.details.reader(),
              let family = try? reader.identifier(MembershipRequest.Tag.family, as: FamilyID.self)
        else { return nil }
        guard entry.code == FamilyJoin.code else { return .leave(family) }
        return .join(family, autoPool: ((try? reader.number(MembershipRequest.Tag.autoPool)) ?? nil) == 1)
    }

    /// A customer's membership: its family, whether its earnings go to the pool, the entry
    /// that last changed either, and the join that made it a member of its family.
    public struct State: Sendable {
        public var family: FamilyID?
        public var autoPool = false
        public var since: LedgerEntry?
        public var joined: LedgerEntry?

        /// When a member who must have been in its family for `coolingOff` milliseconds may
        /// transfer, by its join's clock; nil for no member (or a pool, joined by no entry).
        public func transfersStand(after coolingOff: Int64) -> Int64? {
            joined.map { $0.timestamp.wallMilliseconds + coolingOff }
        }
    }

    /// A customer's membership after its membership `entries` (any order) that come before
    /// `order` in ledger order (all of them when nil). A join of the family the customer is in
    /// changes only its auto-pooling.
    public static func state(from entries: [LedgerEntry], before order: LotOrder? = nil) -> State {
        var state = State()
        for entry in entries.sorted(by: { LotOrder($0) < LotOrder($1) }) {
            if let order, !(LotOrder(entry) < order) { break }
            switch change(of: entry) {
            case .join(let family, let autoPool)?:
                if state.family == nil || state.family == family {
                    state = State(family: family, autoPool: autoPool, since: entry, joined: state.joined ?? entry)
                }
            case .leave(let left)?:
                if state.family == left { state = State(family: nil, autoPool: false, since: entry, joined: nil) }
            case nil:
                break
            }
        }
        return state
    }

    /// The family whose pool `account`'s earnings go to now, if it auto-pools.
    public static func autoPool(of account: AccountID, from source: some FactsSource) throws -> FamilyID? {
        let state = state(from: try source.linkedEntries(memberLink(account)))
        return state.autoPool ? state.family : nil
    }

    public static func family(from entries: [LedgerEntry], before order: LotOrder? = nil) -> FamilyID? {
        state(from: entries, before: order).family
    }

    /// The family `account` belongs to now, as `source` holds its entries. A pool belongs to
    /// its own family.
    public static func family(of account: AccountID, from source: some FactsSource) throws -> FamilyID? {
        try state(of: account, from: source).family
    }

    /// `account`'s membership now, as `source` holds its entries. A pool belongs to its own
    /// family, joined by no entry.
    public static func state(of account: AccountID, from source: some FactsSource) throws -> State {
        if let family = FamilyID.owning(pool: account) { return State(family: family) }
        return state(from: try source.linkedEntries(memberLink(account)))
    }

    /// The members of `family` now, in id order (accounts whose winning join is to it), or nil
    /// when no entry ever concerned it.
    public static func members(of family: FamilyID, from source: some FactsSource) throws -> [AccountID]? {
        try memberStates(of: family, from: source)?.map(\.account)
    }

    /// The members of `family` now with whether each auto-pools, or nil when no entry ever
    /// concerned it.
    public static func memberStates(of family: FamilyID, from source: some FactsSource) throws -> [(account: AccountID, autoPool: Bool)]? {
        let entries = try source.linkedEntries(familyLink(family))
        guard !entries.isEmpty else { return nil }
        return try Set(entries.flatMap { LotEvents.subjects(of: $0.details) }).sorted().compactMap { account in
            let state = state(from: try source.linkedEntries(memberLink(account)))
            return state.family == family ? (account, state.autoPool) : nil
        }
    }
}

/// The rule that keeps points inside families: an entry that declares a family (a transfer)
/// stands only if every customer it moves points between, other than the family's pool,
/// belongs to that family at the entry's instant in the converged history, and had joined it
/// at least the entry's cooling-off period before (by the join's and the entry's clocks). One
/// decided at a cut-off store on membership that history contradicts (the sender had already
/// left elsewhere, or its join lost to an earlier join into another family) does nothing to
/// any lot, on every node: the points stay with the sender, as if it had been refused.
///
/// The cooling-off period stops family hopping: a customer who joins one family to receive
/// points and another to pass them on waits the period in each before either transfer stands.
public enum FamilyCondition {
    /// The codes of the kinds whose entries stand under this condition (transfers).
    public static let conditionedCodes = EntryKinds.codes(conditionedOn: .family)

    /// Whether `entry`'s arrival can change whether conditioned entries of its accounts stand:
    /// it is one, or it changes a membership.
    public static func mayChangeStanding(_ entry: LedgerEntry) -> Bool {
        conditionedCodes.contains(entry.code) || FamilyMembership.change(of: entry) != nil
    }

    /// Whether `entry` stands, given each account's membership entries.
    public static func stands(_ entry: LedgerEntry, memberships: (AccountID) throws -> [LedgerEntry]) throws -> Bool {
        guard let family = try LotEvents.family(of: entry) else { return true }
        let order = LotOrder(entry), coolingOff = try LotEvents.coolingOff(of: entry)
        for account in entry.customerAccounts where account != family.pool {
            let state = FamilyMembership.state(from: try memberships(account), before: order)
            guard state.family == family else { return false }
            guard coolingOff == 0 || (state.transfersStand(after: coolingOff).map { $0 <= entry.timestamp.wallMilliseconds } ?? false) else { return false }
        }
        return true
    }

    /// Whether `entry` stands, with memberships from `source`.
    public static func stands(_ entry: LedgerEntry, in source: some FactsSource) throws -> Bool {
        try stands(entry) { try source.linkedEntries(FamilyMembership.memberLink($0)) }
    }
}
