/// A purchase to earn points for (`POST /v1/purchases`), already validated.
public struct PurchaseRequest: Hashable, Sendable {
    public var receipt: ReceiptID
    public var account: AccountID
    public var amount: Fen
    public var items: [PurchaseItem]

    public init(receipt: ReceiptID, account: AccountID, amount: Fen, items: [PurchaseItem] = []) {
        self.receipt = receipt
        self.account = account
        self.amount = amount
        self.items = items
    }
}

/// A refund of part or all of a receipt (`POST /v1/refunds`), already validated.
public struct RefundRequest: Hashable, Sendable {
    public var refund: RequestID
    public var receipt: ReceiptID
    public var amount: Fen

    public init(refund: RequestID, receipt: ReceiptID, amount: Fen) {
        self.refund = refund
        self.receipt = receipt
        self.amount = amount
    }
}

/// A redemption of points (`POST /v1/redemptions`), already validated.
public struct RedemptionRequest: Hashable, Sendable {
    public var request: RequestID
    public var account: AccountID
    public var points: Points
    public var reward: RequestID?
    public var member: AccountID?

    public init(request: RequestID, account: AccountID, points: Points, reward: RequestID? = nil, member: AccountID? = nil) {
        self.request = request
        self.account = account
        self.points = points
        self.reward = reward
        self.member = member
    }
}

/// Every write a client can ask of the ledger.
public enum WriteCommand: Hashable, Sendable {
    case purchase(PurchaseRequest)
    case refund(RefundRequest)
    case redemption(RedemptionRequest)

    public var idempotencyKey: IdempotencyKey {
        switch self {
        case .purchase(let request): IdempotencyKey(scope: .receipt, id: request.receipt.rawValue)
        case .refund(let request): IdempotencyKey(scope: .refund, id: request.refund.rawValue)
        case .redemption(let request): IdempotencyKey(scope: .redemption, id: request.request.rawValue)
        }
    }

    /// The canonical form the request hash is taken over: every field that changes the
    /// write's meaning, in a fixed order, one per line.
    public var canonicalForm: String {
        switch self {
        case .purchase(let r):
            var text = "purchase\n\(r.receipt)\n\(r.account)\n\(r.amount)\n"
            for item in r.items { text += "item\t\(item.sku)\t\(item.category)\t\(item.amount)\n" }
            return text
        case .refund(let r):
            return "refund\n\(r.refund)\n\(r.receipt)\n\(r.amount)\n"
        case .redemption(let r):
            return "redemption\n\(r.request)\n\(r.account)\n\(r.points)\n\(r.reward?.rawValue ?? "")\n\(r.member?.rawValue ?? "")\n"
        }
    }

    public var requestHash: RequestHash { RequestHash(canonical: canonicalForm) }

    /// The account whose state the decision depends on, when the request names it directly.
    /// A refund's account is the purchase's, found through the receipt.
    public var namedAccount: AccountID? {
        switch self {
        case .purchase(let r): r.account
        case .refund: nil
        case .redemption(let r): r.account
        }
    }
}

/// A command with its idempotency key and request hash computed once, by the caller's thread,
/// so the single writer spends no time hashing.
public struct PreparedWrite: Hashable, Sendable {
    public let command: WriteCommand
    public let key: IdempotencyKey
    public let hash: RequestHash

    public init(_ command: WriteCommand) {
        self.command = command
        key = command.idempotencyKey
        hash = command.requestHash
    }
}
