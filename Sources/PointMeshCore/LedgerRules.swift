/// The outcome of deciding a write.
public enum WriteDecision: Hashable, Sendable {
    /// The write was made before with the same body: answer with the original entry.
    case replay(LedgerEntry)
    /// A new entry to append.
    case append(LedgerEntry)
}

/// The ledger's rules for earning, refunding and redeeming: pure functions of the request and
/// the facts, so every node decides the same thing from the same inputs.
public enum LedgerRules {
    /// Base rate: one point per whole yuan.
    public static let fenPerPoint: Int64 = 100

    public static func pointsEarned(for amount: Fen) -> Points {
        Points(max(0, amount.value) / fenPerPoint)
    }

    /// Points a receipt has had reversed once `refunded` of its `amount` has been refunded.
    /// Taking the cumulative share and subtracting what earlier refunds reversed makes a full
    /// refund, in any number of parts, reverse exactly what the purchase earned.
    public static func pointsReversed(earned: Points, amount: Fen, refunded: Fen) -> Points {
        guard amount.value > 0, refunded.value > 0 else { return .zero }
        let refundedShare = min(refunded.value, amount.value)
        let product = earned.value.multipliedFullWidth(by: refundedShare)
        let (quotient, _) = amount.value.dividingFullWidth(product)
        return Points(quotient)
    }

    /// Decides `command` given `facts`. `id` and `timestamp` are what a new entry would carry.
    public static func decide(
        _ command: WriteCommand, facts: WriteFacts, id: EntryID, timestamp: HLCTimestamp
    ) throws(LedgerError) -> WriteDecision {
        try decide(PreparedWrite(command), facts: facts, id: id, timestamp: timestamp)
    }

    /// Decides a prepared write given `facts`.
    public static func decide(
        _ write: PreparedWrite, facts: WriteFacts, id: EntryID, timestamp: HLCTimestamp
    ) throws(LedgerError) -> WriteDecision {
        let key = write.key
        let hash = write.hash
        if let existing = facts.existing {
            guard existing.requestHash == hash else { throw .idempotencyConflict(key) }
            return .replay(existing)
        }
        switch write.command {
        case .purchase(let request):
            let earned = pointsEarned(for: request.amount)
            let repaid = min(earned, facts.account.debt)
            let delta = earned - repaid
            return .append(LedgerEntry(
                id: id, timestamp: timestamp, kind: .earn, account: request.account,
                points: earned, balanceDelta: delta, debtDelta: -repaid,
                balanceAfter: facts.account.balance + delta,
                idempotencyKey: key, requestHash: hash,
                receipt: request.receipt, amount: request.amount, items: request.items))

        case .refund(let request):
            guard let purchase = facts.purchase, let purchased = purchase.amount else {
                throw .receiptNotFound(request.receipt)
            }
            let refundedAfter = facts.refundedSoFar + request.amount
            guard refundedAfter <= purchased else {
                throw .refundExceedsPurchase(receipt: request.receipt, remaining: purchased - facts.refundedSoFar)
            }
            let reversal = pointsReversed(earned: purchase.points, amount: purchased, refunded: refundedAfter)
                - pointsReversed(earned: purchase.points, amount: purchased, refunded: facts.refundedSoFar)
            // The balance never goes below zero: what was already spent becomes debt.
            let taken = min(reversal, max(.zero, facts.account.balance))
            return .append(LedgerEntry(
                id: id, timestamp: timestamp, kind: .refund, account: purchase.account,
                points: reversal, balanceDelta: -taken, debtDelta: reversal - taken,
                balanceAfter: facts.account.balance - taken,
                idempotencyKey: key, requestHash: hash,
                receipt: request.receipt, amount: request.amount))

        case .redemption(let request):
            return .append(try redeem(request, account: facts.account, id: id, timestamp: timestamp, key: key, hash: hash))
        }
    }

    /// The single decision point for spending points. Later it will also consult the spending
    /// rights this node holds for the account (escrow); today the whole balance is spendable.
    static func redeem(
        _ request: RedemptionRequest, account: AccountState, id: EntryID, timestamp: HLCTimestamp,
        key: IdempotencyKey, hash: RequestHash
    ) throws(LedgerError) -> LedgerEntry {
        guard account.balance >= request.points else {
            throw .insufficientPoints(account: request.account, balance: account.balance, requested: request.points)
        }
        return LedgerEntry(
            id: id, timestamp: timestamp, kind: .redeem, account: request.account,
            points: request.points, balanceDelta: -request.points, debtDelta: .zero,
            balanceAfter: account.balance - request.points,
            idempotencyKey: key, requestHash: hash,
            rewardID: request.reward, memberID: request.member)
    }
}
