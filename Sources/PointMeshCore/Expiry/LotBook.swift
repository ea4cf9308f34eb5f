/// One account's open lots (those with points remaining) and its deficit, and the arithmetic
/// that changes them: the single definition of lots, used by the SQLite store (on the lots it
/// keeps per account), by `MemoryLedger`, by `pointmesh verify` and by the simulation.
///
/// A book is the result of applying an account's lot events in ledger order (`LotOrder`): each
/// event sees the lots as they were at its own instant, so the result depends on the entries
/// alone, never on the order they arrived in.
public struct LotBook: Hashable, Sendable {
    /// Lots with points remaining, in spending order (`Lot.spendingOrder`).
    public private(set) var lots: [Lot] = []
    /// Points spent that no lot covered (two cut-off stores spent the same points): the next
    /// credits pay it before they become spendable.
    public private(set) var deficit: Points = .zero

    public init() {}

    /// A book as a store kept it.
    public init(lots: [Lot], deficit: Points) {
        self.lots = lots.filter { $0.remaining > .zero }.sorted(by: Lot.spendingOrder)
        self.deficit = deficit
    }

    /// Applies one event; returns the lots it changed, each once (their ids: a lot no longer in
    /// `lots` was used up), so a store writes only those.
    @discardableResult
    public mutating func apply(_ event: LotEvent) -> [LotID] {
        switch event {
        case .credit(let lot): credit(lot)
        case .debit(let amount, let instant, let preferring): debit(amount, at: instant, preferring: preferring)
        case .extend(let lotExtension, _): extend(lotExtension)
        case .grant(let grant, let instant): hand(grant, at: instant)
        }
    }

    /// A rights grant: every lot `grant.from` holds that has not expired at `instant` is held by
    /// `grant.to` from then on, pending ones too. Expired lots stay: a compensation that revives
    /// one gives its rights back to the node that held it when it expired.
    private mutating func hand(_ grant: RightsHandover, at instant: Int64) -> [LotID] {
        var changed: [LotID] = []
        for index in lots.indices where lots[index].holder == grant.from && !lots[index].isExpired(at: instant) {
            lots[index].holder = grant.to
            changed.append(lots[index].id)
        }
        return changed
    }

    /// The spendable points of the lots `holder` holds at `instant`, and their green part:
    /// what a debit decided at `holder` may take (docs/rules.md, "Spending rights").
    public func rights(of holder: NodeID, at instant: Int64) -> HeldRights {
        var held = HeldRights()
        for lot in lots where lot.holder == holder && lot.isSpendable(at: instant) {
            held.points += lot.remaining
            if lot.green { held.green += lot.remaining }
        }
        return held
    }

    /// The nodes holding lots not expired at `instant`, pending ones included: whom to ask for
    /// the account's rights (a node's clock may read a lot a peer credited as not yet mature).
    public func holders(at instant: Int64) -> [NodeID] {
        Set(lots.filter { !$0.isExpired(at: instant) }.map(\.holder)).sorted()
    }

    /// Spendable points by holder at `instant` (holders with none left out).
    public func rightsByHolder(at instant: Int64) -> [NodeID: Points] {
        var held: [NodeID: Points] = [:]
        for lot in lots where lot.isSpendable(at: instant) { held[lot.holder, default: .zero] += lot.remaining }
        return held
    }

    private mutating func credit(_ lot: Lot) -> [LotID] {
        var lot = lot
        let paid = min(deficit, lot.remaining)
        deficit -= paid
        lot.remaining -= paid
        guard lot.remaining > .zero else { return [lot.id] }
        let index = lots.firstIndex { Lot.spendingOrder(lot, $0) } ?? lots.endIndex
        lots.insert(lot, at: index)
        return [lot.id]
    }

    /// Takes `amount` at `instant`: first from the lots `preferring` names (a refund takes its
    /// own receipt's points, even while still pending; a transfer the lots it moved), then from
    /// spendable lots soonest to expire first. What no lot covers becomes deficit.
    private mutating func debit(_ amount: Points, at instant: Int64, preferring: LotPreference?) -> [LotID] {
        var left = amount
        // A lot is taken from at most once: the first pass stops when the amount is covered or
        // leaves the lot empty (and removed), so the second never meets it with points left.
        var changed: [LotID] = []
        func take(where eligible: (Lot) -> Bool) {
            var index = 0
            while left > .zero, index < lots.count {
                guard eligible(lots[index]) else {
                    index += 1
                    continue
                }
                let taken = min(left, lots[index].remaining)
                lots[index].remaining -= taken
                left -= taken
                changed.append(lots[index].id)
                if lots[index].remaining == .zero { lots.remove(at: index) } else { index += 1 }
            }
        }
        if let preferring { take { preferring.prefers($0, at: instant) } }
        if preferring?.exclusive != true { take { $0.isSpendable(at: instant) && preferring?.isHeld($0) != false } }
        deficit += left
        return changed
    }

    /// Compensation: lots that exist and expire within the range get `days` more.
    private mutating func extend(_ lotExtension: LotExtension) -> [LotID] {
        var changed: [LotID] = []
        for index in lots.indices where lotExtension.expiring.contains(lots[index].expiresAt) {
            lots[index].expiresAt += lotExtension.days * CivilCalendar.millisecondsPerDay
            changed.append(lots[index].id)
        }
        lots.sort(by: Lot.spendingOrder)
        return changed
    }

    /// The lot with `id`, if it has points remaining.
    public func lot(_ id: LotID) -> Lot? { lots.first { $0.id == id } }

    /// What a debit at `instant` preferring `source` could take before running into deficit.
    public func available(at instant: Int64, preferring: LotPreference? = nil) -> Points {
        var total = Points.zero
        for lot in lots where preferring?.exclusive == true ? preferring?.prefers(lot, at: instant) == true
            : lot.isSpendable(at: instant) && preferring?.isHeld(lot) != false || preferring?.prefers(lot, at: instant) == true {
            total += lot.remaining
        }
        return total - deficit
    }

    /// The account's points at `instant`.
    public func summary(at instant: Int64, expiringLimit: Int = 10) -> LotSummary {
        var summary = LotSummary(spendable: -deficit, deficit: deficit)
        for lot in lots {
            if lot.isExpired(at: instant) {
                summary.expired += lot.remaining
            } else if lot.isPending(at: instant) {
                summary.pending += lot.remaining
                summary.nextMaturity = min(summary.nextMaturity ?? .max, lot.maturesAt)
            } else {
                summary.spendable += lot.remaining
                if lot.green { summary.green += lot.remaining }
                if let last = summary.expiring.last, last.expiresAt == lot.expiresAt {
                    summary.expiring[summary.expiring.count - 1].points += lot.remaining
                } else if summary.expiring.count < expiringLimit {
                    summary.expiring.append(ExpiringPoints(points: lot.remaining, expiresAt: lot.expiresAt))
                }
            }
        }
        return summary
    }
}

/// An account's points at an instant, as the account view and the rules see them.
public struct LotSummary: Hashable, Sendable {
    /// Matured, unexpired points less any deficit: what may be spent.
    public var spendable: Points
    /// Points spent that no lot covered (already subtracted from `spendable`).
    public var deficit: Points = .zero
    /// When the first pending points become spendable; nil when none are pending.
    public var nextMaturity: Int64?
    /// Points inside a return window: shown apart, not spendable yet.
    public var pending: Points = .zero
    /// Points that expired unspent (lots revived by a compensation no longer count).
    public var expired: Points = .zero
    /// Spendable points by expiry instant, soonest first.
    public var expiring: [ExpiringPoints] = []
    /// The green part of the spendable lots (before any deficit): what a green-only reward may take.
    public var green: Points = .zero

    public init(spendable: Points, deficit: Points = .zero, pending: Points = .zero, nextMaturity: Int64? = nil, expired: Points = .zero,
                expiring: [ExpiringPoints] = []) {
        self.spendable = spendable
        self.deficit = deficit
        self.nextMaturity = nextMaturity
        self.pending = pending
        self.expired = expired
        self.expiring = expiring
    }
}

extension LotSummary {
    /// `spendable` after an earning of `earned` points (a new lot, pending when `pending`) that
    /// repays `repaid` of debt, taking it from the new lot first when that is pending, as
    /// `LotBook` applies those events: what the earning's answer reports without reading every
    /// lot of the account. The new lot pays any deficit first.
    public func spendableAfterEarning(_ earned: Points, repaying repaid: Points, pending: Bool) -> Points {
        guard pending else { return spendable + earned - repaid }
        let paid = min(deficit, earned)
        return spendable + paid - max(.zero, repaid - (earned - paid))
    }

    /// `spendable` after a debit of `amount` that prefers a source holding `pendingFromSource`
    /// points still pending (a refund of a receipt inside its return window).
    public func spendableAfterDebit(_ amount: Points, pendingFromSource: Points = .zero) -> Points {
        spendable - max(.zero, amount - pendingFromSource)
    }
}

/// Points of an account that expire together.
public struct ExpiringPoints: Hashable, Sendable {
    public var points: Points
    public var expiresAt: Int64

    public init(points: Points, expiresAt: Int64) {
        self.points = points
        self.expiresAt = expiresAt
    }
}

/// What an entry does to an account's lots.
public enum LotEvent: Hashable, Sendable {
    /// A new lot (an earning, later a bonus, a grant, points received).
    case credit(Lot)
    /// Points spent or taken back at an instant, from the lots `preferring` names first.
    case debit(Points, at: Int64, preferring: LotPreference?)
    /// A compensation extending lots, made at an instant.
    case extend(LotExtension, at: Int64)
    /// A holder handing the lots it holds to another node, at an instant.
    case grant(RightsHandover, at: Int64)
}

/// Rights moving between nodes: every lot `from` holds becomes `to`'s.
public struct RightsHandover: Hashable, Sendable {
    public var from: NodeID
    public var to: NodeID

    public init(from: NodeID, to: NodeID) {
        self.from = from
        self.to = to
    }
}

/// The spending rights one node holds on an account: the spendable points of its lots, and
/// their green part.
public struct HeldRights: Hashable, Sendable {
    public var points: Points = .zero
    public var green: Points = .zero

    public init(points: Points = .zero, green: Points = .zero) {
        self.points = points
        self.green = green
    }
}

/// Lots expiring within `expiring` get `days` more life.
public struct LotExtension: Hashable, Sendable {
    public var expiring: ClosedRange<Int64>
    public var days: Int64

    public init(expiring: ClosedRange<Int64>, days: Int64) {
        self.expiring = expiring
        self.days = days
    }
}

/// Which lots a debit takes first, before the soonest-expiring spendable ones: those meeting
/// every criterion given.
public struct LotPreference: Hashable, Sendable {
    /// The lots one entry credited (`Lot.source`), even while pending: a refund takes back its
    /// own receipt's points. Without it, only spendable lots are preferred.
    public var source: String?
    /// Lots expiring at this instant: a transfer's move takes the lots its origin moved, so the
    /// receiver's lot and the points it came from expire together.
    public var expiresAt: Int64?
    /// Green lots, or regular ones: a green-only reward, a refund of a receipt's green part.
    public var green: Bool?
    /// Take only these lots: what they don't cover is deficit (a green-only redemption never
    /// takes regular points).
    public var exclusive = false
    /// Take only lots this node holds, in both passes: the debit was decided under spending
    /// rights at that node (`LotEvents.heldRightsTag`). Nil: any holder's (entries decided
    /// without rights).
    public var heldBy: NodeID?

    public init(source: String? = nil, expiresAt: Int64? = nil, green: Bool? = nil, exclusive: Bool = false, heldBy: NodeID? = nil) {
        self.source = source
        self.expiresAt = expiresAt
        self.green = green
        self.exclusive = exclusive
        self.heldBy = heldBy
    }

    func isHeld(_ lot: Lot) -> Bool { heldBy.map { lot.holder == $0 } ?? true }

    public static func source(_ source: String) -> LotPreference { LotPreference(source: source) }

    func prefers(_ lot: Lot, at instant: Int64) -> Bool {
        guard isHeld(lot) else { return false }
        if let source {
            guard lot.source == source, !lot.isExpired(at: instant) else { return false }
        } else if !lot.isSpendable(at: instant) {
            return false
        }
        if let expiresAt, lot.expiresAt != expiresAt { return false }
        if let green, lot.green != green { return false }
        return true
    }
}
