import PointMeshJSON

/// What happened to points in a period, grouped by day, store, campaign or reward: a fold of
/// the counting entries that stand, read by their moves (docs/rules.md, "Reports"), plus the
/// points whose lots expired in the period. Kinds a newer release adds count where their moves
/// touch the accounts below, and nowhere else.
public struct ActivityReport: Sendable {
    /// How rows are keyed.
    public enum Grouping: String, CaseIterable, Sendable {
        /// The UTC day of the entry (or expiry), `YYYY-MM-DD`.
        case day
        /// The store whose entry it was (for expiry: whose entry credited the lot).
        case store
        /// The campaign whose points were issued; only campaign points have a row.
        case campaign
        /// The reward a redemption paid for (`points` for a plain redemption); only
        /// redemptions have a row.
        case reward

        /// The `DayCell` dimensions its rows read.
        public var dimensions: [DayCell.Dimension] {
            switch self {
            case .day, .store: [.store]
            case .campaign: [.campaign]
            case .reward: [.reward]
            }
        }
    }

    /// One row's figures, in points.
    public struct Totals: Hashable, Sendable {
        /// Credited by earnings and late campaign credits, campaign points included.
        public var issued = Points.zero
        /// The campaign part of `issued`.
        public var issuedByCampaigns = Points.zero
        /// The green part of `issued`.
        public var greenIssued = Points.zero
        /// The part of `issued` credited straight to family pools (auto-pooling).
        public var pooled = Points.zero
        public var redeemed = Points.zero
        /// In lots that expired unspent.
        public var expired = Points.zero
        /// Reversed by refunds: taken back, and recorded as debt where already spent.
        public var refunded = Points.zero
        /// Paid back against debt by later credits.
        public var debtRepaid = Points.zero
        public var compensated = Points.zero
        public var deducted = Points.zero
        /// Moved between customers (and pools) by transfers.
        public var transferred = Points.zero

        public init() {}

        /// The column names, in order.
        public static let columns = Figure.allCases.map(\.rawValue)

        /// The figures in column order.
        public var values: [Points] { Figure.allCases.map { self[$0] } }

        public subscript(figure: Figure) -> Points {
            get { self[keyPath: figure.path] }
            set { self[keyPath: figure.path] = newValue }
        }

        /// Adds `other`'s figures to these.
        mutating func add(_ other: Totals) {
            for figure in Figure.allCases { self[figure] += other[figure] }
        }
    }

    /// Each figure of a row by its column name as the API, the CSV and the kept day sums give it,
    /// in column order: the one list the columns, the values and the sums read.
    public enum Figure: String, CaseIterable, Sendable {
        case issued, issuedByCampaigns = "issued_by_campaigns", greenIssued = "green_issued", pooled, redeemed, expired, refunded
        case debtRepaid = "debt_repaid", compensated, deducted, transferred

        var path: WritableKeyPath<Totals, Points> {
            switch self {
            case .issued: \.issued
            case .issuedByCampaigns: \.issuedByCampaigns
            case .greenIssued: \.greenIssued
            case .pooled: \.pooled
            case .redeemed: \.redeemed
            case .expired: \.expired
            case .refunded: \.refunded
            case .debtRepaid: \.debtRepaid
            case .compensated: \.compensated
            case .deducted: \.deducted
            case .transferred: \.transferred
            }
        }
    }

    public let period: Range<Int64>
    public let grouping: Grouping
    public private(set) var rows: [String: Totals] = [:]
    /// For `reward` grouping: each reward's kind, when the catalog knows it.
    public private(set) var rewardKinds: [String: String] = [:]

    public init(period: Range<Int64>, grouping: Grouping) {
        self.period = period
        self.grouping = grouping
    }

    /// Adds a counting entry that stands, made in the period.
    public mutating func add(_ entry: LedgerEntry, catalog: Catalog) throws(DecodingError) {
        guard period.contains(entry.timestamp.wallMilliseconds) else { return }
        for (cell, points) in try DayCell.cells(of: entry) { add(cell, points, catalog: catalog) }
    }

    /// Adds one day's cell (`DayCell`): the sum the store keeps for a whole day of the period,
    /// or an entry's own. Each grouping reads its dimension: day and store the store cells,
    /// campaign and reward their own.
    public mutating func add(_ cell: DayCell, _ points: Points, catalog: Catalog) {
        // A figure a newer release added is not in this release's columns.
        guard let figure = Figure(rawValue: cell.figure) else { return }
        let key: String
        switch (grouping, cell.dimension) {
        case (.day, .store): key = Self.day(DayCell.start(of: cell.day))
        case (.store, .store), (.campaign, .campaign): key = cell.key
        case (.reward, .reward):
            key = cell.key
            if key != "points", let kind = catalog.rewards[RequestID(unchecked: key)]?.kind { rewardKinds[key] = kind.rawValue }
        default: return
        }
        rows[key, default: Totals()][figure] += points
    }

    /// Adds points that expired unspent at `instant` in a lot credited by `store`'s entry.
    public mutating func addExpired(_ points: Points, at instant: Int64, store: NodeID) {
        guard period.contains(instant), grouping == .day || grouping == .store, points > .zero else { return }
        rows[grouping == .day ? Self.day(instant) : store.rawValue, default: Totals()].expired += points
    }

    /// Every row's figures summed.
    public var total: Totals { rows.values.reduce(into: Totals()) { $0.add($1) } }

    /// The report as the API answers it (`GET /v1/reports/activity`).
    public func json(budgets: [BudgetUse], freshness: [OriginFreshness], now: Int64) -> JSONValue {
        func row(_ key: String, _ totals: Totals) -> JSONValue {
            var fields: [String: JSONValue] = ["key": .string(key)]
            for (name, value) in zip(Totals.columns, totals.values) { fields[name] = .integer(value.value) }
            if grouping == .reward { fields["reward_kind"] = rewardKinds[key].map(JSONValue.string) ?? .null }
            return .object(fields)
        }
        return .object([
            "from": .string(RFC3339.format(milliseconds: period.lowerBound)), "to": .string(RFC3339.format(milliseconds: period.upperBound)),
            "by": .string(grouping.rawValue),
            "rows": .array(rows.keys.sorted().map { row($0, rows[$0] ?? Totals()) }),
            "total": row("total", total),
            "budgets": .array(budgets.map(\.json)),
            "freshness": .array(freshness.map { $0.json(at: now) }),
        ])
    }

    static let redeemedPrefix = "@redeemed"

    /// Whether a move's amount is final: posted, or the posting of a pending move (the pending
    /// move and its voiding change no balance).
    static func isFinal(_ phase: MovePhase) -> Bool {
        switch phase {
        case .posted, .post: true
        case .pending, .void: false
        }
    }

    /// `YYYY-MM-DD` of `instant` (UTC).
    public static func day(_ instant: Int64) -> String { String(RFC3339.format(milliseconds: instant).prefix(10)) }

    /// The campaign points an entry issued, by campaign: an earning's, or a late credit.
    static func campaignPoints(of entry: LedgerEntry) throws(DecodingError) -> [(CampaignID, Points)] {
        switch entry.code {
        case Earn.code:
            return try Earn.campaignPoints(entry).map { ($0.campaign, $0.points) }
        case CampaignCredit.code:
            guard case .string(let campaign)? = try CampaignCredit.historyFields(entry)["campaign_id"] else { return [] }
            return [(CampaignID(unchecked: campaign), try CampaignCredit.credited(entry).points)]
        default:
            return []
        }
    }

    /// The green points an entry issued.
    static func greenIssued(by entry: LedgerEntry) throws(DecodingError) -> Points {
        switch entry.code {
        case Earn.code: try Earn.green(of: entry)
        case CampaignCredit.code: try CampaignCredit.credited(entry).green ? CampaignCredit.credited(entry).points : .zero
        default: .zero
        }
    }
}

/// One month's budget for one scope and what was issued against it.
public struct BudgetUse: Hashable, Sendable {
    public var month: CalendarMonth
    public var scope: BudgetScope
    public var points: Points
    public var used: Points

    public init(month: CalendarMonth, scope: BudgetScope, points: Points, used: Points) {
        self.month = month
        self.scope = scope
        self.points = points
        self.used = used
    }

    public var json: JSONValue {
        .object(["month": .string(month.description), "scope": .string(scope.description), "points": .integer(points.value), "used": .integer(used.value)])
    }
}

extension FactsSource {
    /// Each scope's budget for `month` and the points issued against it, by scope.
    public func budgetUse(in month: CalendarMonth) throws -> [BudgetUse] {
        let budgets = try catalog().budgets[month] ?? [:]
        return try budgets.keys.sorted().map { scope in
            let store: NodeID? = if case .store(let store) = scope { store } else { nil }
            return BudgetUse(month: month, scope: scope, points: budgets[scope] ?? .zero, used: try issued(by: store, in: month))
        }
    }
}
