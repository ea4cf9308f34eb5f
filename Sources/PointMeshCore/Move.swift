/// What a move's amount counts. Open: a newer release may add assets, and an older node counts
/// them like any other.
public struct Asset: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let code: UInt64
    public init(code: UInt64) { self.code = code }

    /// Loyalty points.
    public static let points = Asset(code: 0)
    /// Points a customer owes (a refund of points already spent); earnings repay it first.
    public static let debt = Asset(code: 1)

    public var description: String {
        switch code {
        case 0: "points"
        case 1: "debt"
        default: "asset-\(code)"
        }
    }

    public static func < (lhs: Asset, rhs: Asset) -> Bool { lhs.code < rhs.code }
}

/// One move's place in the ledger: entry and position, so a later move can post or void it.
public struct MoveRef: Hashable, Sendable, CustomStringConvertible {
    public var entry: EntryID
    public var index: Int

    public init(entry: EntryID, index: Int) {
        self.entry = entry
        self.index = index
    }

    public var description: String { "\(entry)#\(index)" }
}

/// Whether a move is final (TigerBeetle's two-phase transfers).
public enum MovePhase: Hashable, Sendable {
    /// Final: the amount moved.
    case posted
    /// Reserved: it shows apart from the spendable balance until posted or voided.
    case pending
    /// Makes the pending move `ref` final. Carries the same accounts and amount, so a replica
    /// applies it without looking the pending move up (the origin decided it).
    case post(MoveRef)
    /// Cancels the pending move `ref`.
    case void(MoveRef)
}

/// A move of `amount` of `asset` from `debit` to `credit`: the only way any balance changes.
/// Every entry is one or more moves decided together by its origin, so nothing it does can be
/// split in transit and the balances over all accounts always sum to zero.
public struct Move: Hashable, Sendable {
    public var debit: LedgerAccount
    public var credit: LedgerAccount
    public var amount: Points
    public var asset: Asset
    public var phase: MovePhase
    /// Reserved for later use (TigerBeetle keeps `user_data` for the same reason); 0 today,
    /// carried and forwarded as received.
    public var userData: UInt64

    public init(debit: LedgerAccount, credit: LedgerAccount, amount: Points, asset: Asset = .points,
                phase: MovePhase = .posted, userData: UInt64 = 0) {
        self.debit = debit
        self.credit = credit
        self.amount = amount
        self.asset = asset
        self.phase = phase
        self.userData = userData
    }
}
