/// Which lot: the entry that credited it and the index of the crediting move in that entry.
public struct LotID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var entry: EntryID
    public var move: Int

    public init(entry: EntryID, move: Int) {
        self.entry = entry
        self.move = move
    }

    public static func < (lhs: LotID, rhs: LotID) -> Bool { (lhs.entry, lhs.move) < (rhs.entry, rhs.move) }
    public var description: String { "\(entry)/\(move)" }
}

/// Points credited to an account by one move, with the life they were given: spendable from
/// `maturesAt` (later than the earning only inside a return window) until `expiresAt`, the
/// first instant they are expired. `remaining` is what spending has not yet taken.
public struct Lot: Hashable, Sendable {
    public var id: LotID
    public var amount: Points
    public var remaining: Points
    public var earnedAt: Int64
    public var maturesAt: Int64
    public var expiresAt: Int64
    /// The expiry policy version that fixed `expiresAt`.
    public var policy: RequestID
    /// The idempotency key of the entry that credited it (`receipt:R1`): a refund of that
    /// receipt takes back from this lot first.
    public var source: String
    /// Green points (from green categories or green campaigns): only green-only rewards need them.
    public var green: Bool
    /// The node holding the right to spend it (docs/rules.md, "Spending rights"): the node whose
    /// entry credited it, until that node grants it to another (`RightsGrant`).
    public var holder: NodeID

    /// `holder` nil: the crediting entry's origin.
    public init(id: LotID, amount: Points, remaining: Points, earnedAt: Int64, maturesAt: Int64, expiresAt: Int64,
                policy: RequestID, source: String, green: Bool = false, holder: NodeID? = nil) {
        self.id = id
        self.amount = amount
        self.remaining = remaining
        self.earnedAt = earnedAt
        self.maturesAt = maturesAt
        self.expiresAt = expiresAt
        self.policy = policy
        self.source = source
        self.green = green
        self.holder = holder ?? id.entry.origin
    }

    public func isExpired(at instant: Int64) -> Bool { instant >= expiresAt }

    /// Whether a transfer credited it (its points were first credited, and reported, where they
    /// were earned).
    public var isTransferred: Bool { source.hasPrefix(Transfer.scope + ":") }
    public func isPending(at instant: Int64) -> Bool { instant < maturesAt && !isExpired(at: instant) }
    public func isSpendable(at instant: Int64) -> Bool { instant >= maturesAt && !isExpired(at: instant) }

    /// Spending order: soonest to expire first; the older lot breaks a tie.
    static func spendingOrder(_ lhs: Lot, _ rhs: Lot) -> Bool { (lhs.expiresAt, lhs.id) < (rhs.expiresAt, rhs.id) }
}
