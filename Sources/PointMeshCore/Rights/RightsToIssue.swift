/// A month's chain budget held as rights to issue (docs/rules.md, "The chain budget as rights
/// to issue"): the escrow of spending rights, applied to issuance. The HQ node that set the
/// month's chain budget holds all of it at first; it hands shares to stores that ask
/// (`IssuanceGrant`), and a store with rights to spare hands on part of them. A node issues,
/// without asking anyone, only what it holds, so stores cut off from each other together
/// issue no more than the budget, except by earnings that carry a recorded override.
///
/// What a node holds is a fold of counters every node agrees on once converged: the budget
/// (to its setter), the grants each node received less those it gave (`LedgerAccount
/// .rightsToIssue`), less what the node issued in the month (`LedgerAccount.issued(by:in:)`,
/// overrides and late campaign credits included, which may take a holding below zero).
public struct RightsToIssue: Hashable, Sendable {
    public var month: CalendarMonth
    /// The month's chain budget and the node that set it last.
    public var budget: Points
    public var setter: NodeID
    /// Per node: grants received less grants given.
    public var moved: [NodeID: Points]
    /// Per node: points it issued in the month.
    public var issued: [NodeID: Points]

    public init(month: CalendarMonth, budget: Points, setter: NodeID, moved: [NodeID: Points] = [:], issued: [NodeID: Points] = [:]) {
        self.month = month
        self.budget = budget
        self.setter = setter
        self.moved = moved
        self.issued = issued
    }

    /// What `node` may still issue in the month without asking (below zero after overrides).
    public func held(by node: NodeID) -> Points {
        (node == setter ? budget : .zero) + (moved[node] ?? .zero) - (issued[node] ?? .zero)
    }

    /// Every node holding some rights, or owing some after overrides.
    public var holdings: [NodeID: Points] {
        var nodes = Set(moved.keys).union(issued.keys)
        nodes.insert(setter)
        return Dictionary(uniqueKeysWithValues: nodes.map { ($0, held(by: $0)) }.filter { $0.1 != .zero })
    }

    /// The nodes other than `node` holding rights, the setter first (it holds the budget not
    /// yet handed out), then the others by id.
    public func holders(otherThan node: NodeID) -> [NodeID] {
        holdings.filter { $0.key != node && $0.value > .zero }.keys.sorted { ($0 == setter ? 0 : 1, $0) < ($1 == setter ? 0 : 1, $1) }
    }

    /// What `giver` hands a node asking for `asked`: the setter as much as asked, up to all it
    /// holds; a store up to half of what it holds, so it keeps rights for its own tills.
    public func grantable(by giver: NodeID, asked: Points) -> Points {
        let held = held(by: giver)
        guard held > .zero, asked > .zero else { return .zero }
        return min(asked, giver == setter ? held : Points(held.value / 2))
    }

    /// An even share of the budget among `nodes` nodes: what a store asks for at a time.
    public func share(among nodes: Int) -> Points { max(Points(1), Points(budget.value / Int64(max(1, nodes)))) }

    /// What a node asks for when it needs `needed` more to issue: a share, or more if the
    /// earning needs more.
    public func wanted(needing needed: Points, among nodes: Int) -> Points { max(needed, share(among: nodes)) }

    /// The month whose budget `entry` counts against, when it issued points (an earning, a
    /// late campaign credit).
    public static func monthIssued(by entry: LedgerEntry) -> CalendarMonth? {
        let month = CalendarMonth(containing: entry.timestamp.wallMilliseconds)
        let counter = LedgerAccount.issued(by: entry.id.origin, in: month)
        return entry.moves.contains { $0.debit == counter } ? month : nil
    }

    /// Whether `node`, holding what it holds, asks for more ahead of need: once it holds under
    /// a quarter of a share.
    public func runsLow(_ node: NodeID, among nodes: Int) -> Bool {
        node != setter && held(by: node).value * 4 < share(among: nodes).value
    }
}

extension FactsSource {
    /// The month's rights to issue, when the month has a chain budget.
    public func rightsToIssue(in month: CalendarMonth) throws -> RightsToIssue? {
        guard let (budget, setter) = try catalog().chainBudget(in: month) else { return nil }
        let counters = try monthlyCounters(in: month)
        return RightsToIssue(month: month, budget: budget, setter: setter, moved: counters.rightsToIssue, issued: counters.issued)
    }

    /// What `node` holds of the month's rights to issue (nil without a chain budget): the same
    /// figure as `rightsToIssue(in:)`'s, from three reads instead of every node's counters.
    public func rightsToIssue(heldBy node: NodeID, in month: CalendarMonth) throws -> Points? {
        guard let (budget, setter) = try catalog().chainBudget(in: month) else { return nil }
        let moved = try balance(BalanceKey(.rightsToIssue(of: node, in: month))).posted
        return RightsToIssue(month: month, budget: budget, setter: setter, moved: [node: moved], issued: [node: try issued(by: node, in: month)])
            .held(by: node)
    }
}

/// Every node's monthly counters of one month: what each issued, and the rights to issue
/// each received less those it gave.
public struct MonthlyCounters: Hashable, Sendable {
    public var issued: [NodeID: Points] = [:]
    public var rightsToIssue: [NodeID: Points] = [:]

    public init(issued: [NodeID: Points] = [:], rightsToIssue: [NodeID: Points] = [:]) {
        self.issued = issued
        self.rightsToIssue = rightsToIssue
    }

    /// Adds a system account's posted balance, when it is one of the month's counters.
    public mutating func add(_ account: LedgerAccount, posted: Points, in month: CalendarMonth) {
        if let node = LedgerAccount.node(of: account, counting: .issued, in: month) {
            issued[node, default: .zero] -= posted
        } else if let node = LedgerAccount.node(of: account, counting: .rightsToIssue, in: month) {
            rightsToIssue[node, default: .zero] += posted
        }
    }
}
