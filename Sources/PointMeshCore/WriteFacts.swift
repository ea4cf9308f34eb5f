/// What the ledger knows that a write's decision depends on, looked up (`gather`) inside the
/// write's transaction.
public struct WriteFacts: Sendable {
    /// An entry already holding the command's idempotency key, if any.
    public var existing: LedgerEntry?
    /// The state of the account the write affects (for a refund, the purchase's account).
    public var account: AccountState
    /// For a refund: the purchase entry of its receipt.
    public var purchase: LedgerEntry?
    /// For a refund: the sum of earlier refunds of the same receipt.
    public var refundedSoFar: Fen

    public init(existing: LedgerEntry? = nil, account: AccountState = .empty, purchase: LedgerEntry? = nil, refundedSoFar: Fen = .zero) {
        self.existing = existing
        self.account = account
        self.purchase = purchase
        self.refundedSoFar = refundedSoFar
    }
}

/// The look-ups `WriteFacts.gather` needs. The SQLite store and the in-memory ledger both
/// answer them; which facts a write needs is decided once, here in the core.
public protocol WriteFactsSource {
    /// The entry that counts for `key` (never a duplicate), if any.
    func countingEntry(for key: IdempotencyKey) throws -> LedgerEntry?
    /// The account's balance and debt; an account never seen has both 0.
    func accountState(of account: AccountID) throws -> AccountState
    /// The sum of the refunds of `receipt` that count.
    func refundedAmount(of receipt: ReceiptID) throws -> Fen
}

extension WriteFacts {
    /// Everything `LedgerRules.decide` needs to decide `write`, looked up in `source`.
    public static func gather(for write: PreparedWrite, from source: some WriteFactsSource) throws -> WriteFacts {
        var facts = WriteFacts(existing: try source.countingEntry(for: write.key))
        if facts.existing != nil { return facts }
        switch write.command {
        case .purchase(let request):
            facts.account = try source.accountState(of: request.account)
        case .redemption(let request):
            facts.account = try source.accountState(of: request.account)
        case .refund(let request):
            guard let purchase = try source.countingEntry(for: IdempotencyKey(scope: .receipt, id: request.receipt.rawValue)) else {
                return facts
            }
            facts.purchase = purchase
            facts.account = try source.accountState(of: purchase.account)
            facts.refundedSoFar = try source.refundedAmount(of: request.receipt)
        }
        return facts
    }
}
