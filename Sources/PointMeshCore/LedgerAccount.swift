/// An account a move debits or credits: a customer's account or family pool (an `AccountID`),
/// or one of the chain's system accounts, where points come from and go to.
///
/// System accounts start with `@`, which the id alphabet lacks, so they can never collide with
/// a customer's id. Their names are open text: a node that meets a system account a newer
/// release introduced applies moves to it like any other (forward compatibility).
///
/// Balances are credit-normal: credits raise an account, debits lower it. So a customer's
/// points are credits minus debits, and a system account that issued points has a negative
/// balance equal to what it issued. Over all accounts the balances sum to zero.
public struct LedgerAccount: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ account: AccountID) { name = account.rawValue }

    private init(system: String) { name = "@" + system }

    /// Points a store issued before release 0.5 (earnings), without the month.
    public static func issued(by store: NodeID) -> LedgerAccount { LedgerAccount(system: "issued:\(store.rawValue)") }
    /// Points a store issued in a calendar month (earnings and their campaign points): the
    /// month's counter is what the issuance budget is checked against.
    public static func issued(by store: NodeID, in month: CalendarMonth) -> LedgerAccount {
        LedgerAccount(system: "issued:\(store.rawValue):\(month)")
    }
    /// Whether `account` is some store's counter for `month` (`issued(by:in:)`).
    public static func isIssued(_ account: LedgerAccount, in month: CalendarMonth) -> Bool {
        let name = account.name
        return name.hasPrefix("@issued:") && name.hasSuffix(":\(month)")
    }
    /// `node`'s rights to issue in `month` under the chain budget, as issuance grants moved
    /// them: credited to the node receiving, debited from the node giving (docs/rules.md, "The
    /// chain budget as rights to issue"). Not points a customer holds: the two sides of every
    /// grant are such accounts, and the reports count no move between them.
    public static func rightsToIssue(of node: NodeID, in month: CalendarMonth) -> LedgerAccount {
        LedgerAccount(system: "rights-to-issue:\(node.rawValue):\(month)")
    }
    /// The node whose counter `account` is, when it is a `issued(by:in:)` or a `rightsToIssue`
    /// account of `month`.
    public static func node(of account: LedgerAccount, counting prefix: MonthlyCounter, in month: CalendarMonth) -> NodeID? {
        let head = "@\(prefix.rawValue):", tail = ":\(month)"
        let name = account.name
        guard name.hasPrefix(head), name.hasSuffix(tail), name.utf8.count > head.utf8.count + tail.utf8.count else { return nil }
        return NodeID(unchecked: String(name.dropFirst(head.count).dropLast(tail.count)))
    }
    /// The per-node monthly counters among the system accounts.
    public enum MonthlyCounter: String, Sendable {
        case issued
        case rightsToIssue = "rights-to-issue"
    }
    /// Points redeemed for rewards (`reward` when the redemption named one).
    public static func redeemed(reward: RequestID?) -> LedgerAccount {
        LedgerAccount(system: "redeemed" + (reward.map { ":\($0.rawValue)" } ?? ""))
    }
    /// Points a refund took back, at the store that decided it.
    public static func clawedBack(by store: NodeID) -> LedgerAccount { LedgerAccount(system: "clawed-back:\(store.rawValue)") }
    /// Points granted as compensation for the chain's own fault, by an audited batch.
    public static let compensated = LedgerAccount(system: "compensated")
    /// Points deducted from accounts for documented abuse.
    public static let deducted = LedgerAccount(system: "deducted")
    /// The counterpart of customers' debt: debt is owed to it.
    public static let debtOwed = LedgerAccount(system: "debt-owed")

    public var isSystem: Bool { name.utf8.first == UInt8(ascii: "@") }

    /// The customer account, when this is one.
    public var customer: AccountID? { isSystem ? nil : AccountID(unchecked: name) }

    /// Parses a stored or received name: a valid account id, or `@` and id characters.
    public init(validating name: String) throws(DecodingError) {
        let body = name.hasPrefix("@") ? String(name.dropFirst()) : name
        do {
            try IdentifierError.check(body)
        } catch {
            throw .invalid("invalid account \(name.debugDescription)")
        }
        self.name = name
    }

    public init(unchecked name: String) { self.name = name }

    public var description: String { name }
    public static func < (lhs: LedgerAccount, rhs: LedgerAccount) -> Bool { lhs.name < rhs.name }
}
