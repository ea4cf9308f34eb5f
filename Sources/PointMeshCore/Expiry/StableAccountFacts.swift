/// An account's facts as read at one instant, with the instants over which they stay the same:
/// from `from` until `until` (excluded), the first instant one of its unexpired lots matures or
/// expires. Facts sum lots by state (pending, spendable, expired), and between those instants
/// no lot changes state, so only a write can change them.
///
/// The writer keeps these for the accounts it decided about lately
/// (`LedgerWriter.accountFacts`): a customer's next purchase then reads no lot rows, and a
/// whole lot it earns (`credit`) is added here as the table gets it. Anything else that writes
/// the account's lots, deficit or debt must drop them.
public struct StableAccountFacts: Sendable {
    public private(set) var facts: AccountFacts
    public private(set) var from: Int64
    public private(set) var until: Int64

    /// `facts` read at `instant`; `nextChange` the earliest instant after it at which an
    /// unexpired lot matures or expires (nil: none does).
    public init(_ facts: AccountFacts, readAt instant: Int64, nextChange: Int64?) {
        self.facts = facts
        from = instant
        until = nextChange ?? .max
    }

    /// The facts at `instant`, if they are known to hold then.
    public func facts(at instant: Int64) -> AccountFacts? {
        instant >= from && instant < until ? facts : nil
    }

    /// Adds a whole lot (nothing owed took any of it), credited at `instant`, as summing it
    /// with the others at `instant` would. False if the facts can't say what they are at
    /// `instant`: the caller must drop them.
    public mutating func credit(_ lot: Lot, at instant: Int64) -> Bool {
        guard instant >= from, instant < until, facts.summary.deficit == .zero else { return false }
        from = instant
        if lot.isExpired(at: instant) { return true }
        if lot.isPending(at: instant) {
            facts.summary.pending += lot.remaining
            facts.summary.nextMaturity = min(facts.summary.nextMaturity ?? .max, lot.maturesAt)
            until = min(until, lot.maturesAt, lot.expiresAt)
        } else {
            facts.summary.spendable += lot.remaining
            if lot.green { facts.summary.green += lot.remaining }
            until = min(until, lot.expiresAt)
        }
        return true
    }
}
