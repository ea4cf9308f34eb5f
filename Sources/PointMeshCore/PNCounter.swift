/// A positive-negative counter CRDT: per origin node, a grow-only total of increments and a
/// grow-only total of decrements. Its value is Σ increments − Σ decrements.
///
/// Two replicas merge by taking, per origin, the larger of each total. Because each origin's
/// totals only grow, and only that origin's entries feed them, the larger total is the later
/// one, and merge is commutative, associative and idempotent.
public struct PNCounter: Hashable, Sendable {
    public private(set) var increments: [NodeID: Int64]
    public private(set) var decrements: [NodeID: Int64]

    public init(increments: [NodeID: Int64] = [:], decrements: [NodeID: Int64] = [:]) {
        self.increments = increments
        self.decrements = decrements
    }

    public var value: Int64 {
        increments.values.reduce(0, +) - decrements.values.reduce(0, +)
    }

    /// Records a signed change made by `origin`.
    public mutating func add(_ delta: Int64, origin: NodeID) {
        if delta > 0 {
            increments[origin, default: 0] += delta
        } else if delta < 0 {
            decrements[origin, default: 0] += -delta
        }
    }

    /// Takes back a change recorded by `add`. Only a duplicate entry that loses to an earlier
    /// copy of the same write is ever taken back (see `ReplicationRules.winner`).
    public mutating func remove(_ delta: Int64, origin: NodeID) {
        if delta > 0 {
            increments[origin, default: 0] -= delta
        } else if delta < 0 {
            decrements[origin, default: 0] -= -delta
        }
    }

    public mutating func merge(_ other: PNCounter) {
        increments.merge(other.increments, uniquingKeysWith: max)
        decrements.merge(other.decrements, uniquingKeysWith: max)
    }

    public func merged(with other: PNCounter) -> PNCounter {
        var copy = self
        copy.merge(other)
        return copy
    }
}

/// The derived state of one account: its spendable balance and its debt, each a `PNCounter`.
public struct AccountCounters: Hashable, Sendable {
    public var balance = PNCounter()
    public var debt = PNCounter()

    public init(balance: PNCounter = PNCounter(), debt: PNCounter = PNCounter()) {
        self.balance = balance
        self.debt = debt
    }

    public mutating func apply(_ entry: LedgerEntry) {
        balance.add(entry.balanceDelta.value, origin: entry.id.origin)
        debt.add(entry.debtDelta.value, origin: entry.id.origin)
    }

    public mutating func unapply(_ entry: LedgerEntry) {
        balance.remove(entry.balanceDelta.value, origin: entry.id.origin)
        debt.remove(entry.debtDelta.value, origin: entry.id.origin)
    }

    public mutating func merge(_ other: AccountCounters) {
        balance.merge(other.balance)
        debt.merge(other.debt)
    }

    /// What the rules need to know of an account.
    public var state: AccountState {
        AccountState(balance: Points(balance.value), debt: Points(debt.value))
    }
}

/// An account's spendable balance and outstanding debt, as the ledger rules see them.
public struct AccountState: Hashable, Sendable {
    public var balance: Points
    public var debt: Points
    public init(balance: Points, debt: Points) {
        self.balance = balance
        self.debt = debt
    }
    public static let empty = AccountState(balance: .zero, debt: .zero)
}
