/// A calendar month (UTC), `YYYY-MM`: the period of an issuance budget.
public struct CalendarMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int64
    public var month: Int64

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int64(parts[0]), let month = Int64(parts[1]),
              (1970...9999).contains(year), (1...12).contains(month)
        else { return nil }
        self.year = year
        self.month = month
    }

    /// The month holding `milliseconds`.
    public init(containing milliseconds: Int64) {
        let date = CivilCalendar.civil(days: CivilCalendar.floorDivide(milliseconds, CivilCalendar.millisecondsPerDay).0)
        year = date.year
        month = date.month
    }

    public var description: String {
        let digits = String(month)
        return "\(year)-\(digits.count == 1 ? "0" + digits : digits)"
    }

    public static func < (lhs: CalendarMonth, rhs: CalendarMonth) -> Bool { (lhs.year, lhs.month) < (rhs.year, rhs.month) }
}

/// Whose issuance a budget limits: the whole chain, or one store.
public enum BudgetScope: Hashable, Comparable, Sendable, CustomStringConvertible {
    case chain
    case store(NodeID)

    /// `chain`, or a store's node id; nil for anything else, `CHAIN` or `Chain` included (a
    /// store named so would be mistaken for the chain by whoever reads the budget).
    public init?(_ text: String) {
        if text == "chain" {
            self = .chain
        } else if text.lowercased() != "chain", let store = try? NodeID(validating: text) {
            self = .store(store)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .chain: "chain"
        case .store(let store): store.rawValue
        }
    }

    public static func < (lhs: BudgetScope, rhs: BudgetScope) -> Bool { lhs.description < rhs.description }
}

/// One budget as a store knows it: its limit for the month and what it has used; under
/// spending rights, a chain budget's rights to issue this store holds (`RightsToIssue`).
public struct BudgetLimit: Hashable, Sendable {
    public var scope: BudgetScope
    public var points: Points
    public var used: Points
    /// What this store may still issue of a chain budget held as rights to issue: the limit
    /// then, instead of `points` less the `used` the store has heard of.
    public var held: Points?

    public init(scope: BudgetScope, points: Points, used: Points, held: Points? = nil) {
        self.scope = scope
        self.points = points
        self.used = used
        self.held = held
    }

    /// The first of `limits` that `points` more would exceed.
    public static func exceeded(_ limits: [BudgetLimit], by points: Points) -> BudgetLimit? {
        guard points > .zero else { return nil }
        return limits.first { $0.left < points }
    }

    public var left: Points { max(.zero, held ?? points - used) }
}
