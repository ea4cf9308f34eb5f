/// What a bearer token may do. A store's tills hold `clerk` tokens; HQ's scripts `hq`; the few
/// people who may freeze, deduct, compensate or retire nodes `admin`.
public enum Role: String, CaseIterable, Comparable, Sendable {
    /// Earn, refund, redeem, transfer, families, and look up accounts.
    case clerk
    /// Policies, campaigns, rewards, budgets, reports, reminders, and every read.
    case hq
    /// Admin actions (compensate, freeze, deduct, retire nodes) and everything `hq` may do.
    case admin

    /// In the order above, from the till to the administrator.
    public static func < (lhs: Role, rhs: Role) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// Who may call an operation.
public enum Access: Hashable, Sendable {
    /// Anyone, unless the node protects reads (`--protect-reads`), then any valid token.
    case open
    /// Anyone, `--protect-reads` too: a page that holds no data (the dashboard), which asks the
    /// API for everything with the token its user gives it. A browser opening a page sends no
    /// token, so `open` would lock it out of a node that protects reads.
    case page
    /// A token of one of these roles.
    case roles(Set<Role>)

    /// Looking up a customer: the till, and every read of HQ's.
    public static let lookup = Access.roles([.clerk, .hq, .admin])
    /// HQ's writes and reads.
    public static let headquarters = Access.roles([.hq, .admin])
    /// Admin actions only.
    public static let administration = Access.roles([.admin])
    /// The till's writes: points for real purchases at a store.
    public static let till = Access.roles([.clerk])

    /// The roles allowed, in a fixed order (all of them for `open`).
    public var allowed: [Role] {
        switch self {
        case .open, .page: Role.allCases
        case .roles(let roles): roles.sorted()
        }
    }
}

/// Who made a write: the name of the token it came with (empty when the node runs without
/// tokens). Recorded in the entry (details tag 20, shared by every kind), replicated with it, and
/// shown in history.
public enum EntryAudit {
    static let callerTag: UInt64 = 20

    /// `details` with the caller's name appended (unchanged for an empty name).
    public static func details(_ details: EntryDetails, madeBy caller: String) -> EntryDetails {
        guard !caller.isEmpty else { return details }
        var writer = DetailsWriter()
        writer.text(callerTag, caller)
        return EntryDetails(bytes: details.bytes + writer.details.bytes)
    }

    /// The name of the token that made the entry, if it was recorded.
    public static func caller(of entry: LedgerEntry) -> String? {
        (try? entry.details.reader().text(callerTag)) ?? nil
    }
}
