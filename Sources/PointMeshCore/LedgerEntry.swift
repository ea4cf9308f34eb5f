/// What a ledger entry records.
public enum EntryKind: String, Sendable, CaseIterable {
    /// Points earned by a purchase (`receipt_id`).
    case earn
    /// Points clawed back by a refund of part or all of a receipt (`refund_id`).
    case refund
    /// Points spent on a reward or a bill (`request_id`).
    case redeem
}

/// One line of a purchase, kept on the entry so that category campaigns can apply to it later.
public struct PurchaseItem: Hashable, Sendable {
    public var sku: SKU
    public var category: CategoryID
    public var amount: Fen

    public init(sku: SKU, category: CategoryID, amount: Fen) {
        self.sku = sku
        self.category = category
        self.amount = amount
    }
}

/// An immutable change to the ledger. Entries are the source of truth; every balance is a
/// counter derived from them (see `AccountCounters`), and the counters can always be recomputed.
///
/// The effect on balances is decided once, by the origin node, when it writes the entry
/// (`balanceDelta`, `debtDelta`); replicas apply it as recorded and never re-decide it, so every
/// node that holds the same entries holds the same balances whatever order they arrived in.
public struct LedgerEntry: Hashable, Sendable {
    public var id: EntryID
    public var timestamp: HLCTimestamp
    public var kind: EntryKind
    public var account: AccountID
    /// The business amount: points earned, reversed by a refund, or redeemed. Never negative.
    public var points: Points
    /// Signed change to the account's spendable balance.
    public var balanceDelta: Points
    /// Signed change to the account's debt: refunds of spent points raise it, earnings repay it.
    public var debtDelta: Points
    /// The account's balance on the origin just after this entry; a replayed write answers it.
    public var balanceAfter: Points
    /// The client's id for this write, namespaced by kind.
    public var idempotencyKey: IdempotencyKey
    /// Fingerprint of the request that created the entry; a replay must carry the same.
    public var requestHash: RequestHash
    /// The receipt a purchase or refund is about.
    public var receipt: ReceiptID?
    /// The purchase amount (earn) or the refunded amount (refund).
    public var amount: Fen?
    public var items: [PurchaseItem]
    /// The reward a redemption was for, when the client named one.
    public var rewardID: RequestID?
    /// The family member redeeming from a pool, when the client named one.
    public var memberID: AccountID?

    public init(
        id: EntryID, timestamp: HLCTimestamp, kind: EntryKind, account: AccountID,
        points: Points, balanceDelta: Points, debtDelta: Points, balanceAfter: Points,
        idempotencyKey: IdempotencyKey, requestHash: RequestHash,
        receipt: ReceiptID? = nil, amount: Fen? = nil, items: [PurchaseItem] = [],
        rewardID: RequestID? = nil, memberID: AccountID? = nil
    ) {
        self.id = id
        self.timestamp = timestamp
        self.kind = kind
        self.account = account
        self.points = points
        self.balanceDelta = balanceDelta
        self.debtDelta = debtDelta
        self.balanceAfter = balanceAfter
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.receipt = receipt
        self.amount = amount
        self.items = items
        self.rewardID = rewardID
        self.memberID = memberID
    }
}
