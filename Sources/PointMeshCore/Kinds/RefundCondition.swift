/// The rule that keeps refunds within their purchase on the converged history. Each node
/// refuses a refund past what it knows was refunded (409 `refund_exceeds_purchase`), but two
/// cut-off stores can each accept a refund of the same receipt that together exceed it, and a
/// store can reverse a late campaign credit of its copy of a purchase that a copy rung up
/// elsewhere then replaces. So a purchase's refunds are taken in ledger order, and each
/// **stands** while the fen refunded by those that stand, with it, stay within the purchase's
/// amount and the points they reverse within what the purchase earned with its counting late
/// credits; one that would take either past it is **void**: it does nothing to any lot or
/// counter, on every node, and its history line says so (`void: true`). Its till was told 201
/// and its customer keeps the points, as if it had been refused; operators see it in the
/// customer's history. Refunds never reverse more than the purchase earned, and no void refund
/// makes debt.
///
/// Whether a refund stands is a function of the purchase and its refunds, which every node that
/// holds the same entries agrees on. A refund whose purchase a node does not hold yet (its
/// origin's entries arrived first) stands until the purchase arrives and is judged then.
public enum RefundCondition {
    /// The refunds among `entries` that are void: for each purchase among `entries`, those of
    /// its refunds among `entries` that the rule voids. All of one purchase's refunds must be
    /// among `entries` (a customer's entries hold them: the purchase credits the account its
    /// refunds take from).
    public static func void(among entries: [LedgerEntry]) -> Set<EntryID> {
        let purchases = entries.filter { $0.code == Earn.code }
        guard !purchases.isEmpty else { return [] }
        var refundsOf: [EntryID: [LedgerEntry]] = [:], credited: [EntryID: Points] = [:]
        for credit in entries where credit.code == CampaignCredit.code {
            if let purchase = CampaignCredit.countsOnlyWith(credit), let points = try? CampaignCredit.credited(credit).points {
                credited[purchase, default: .zero] += points
            }
        }
        for refund in entries where refund.code == Refund.code {
            guard let receipt = Refund.receipt(of: refund),
                  let purchase = purchases.first(where: { $0.idempotencyKey.id == receipt.rawValue && Refund.refunds(refund, purchase: $0) })
            else { continue }
            refundsOf[purchase.id, default: []].append(refund)
        }
        var void: Set<EntryID> = []
        for purchase in purchases {
            guard let refunds = refundsOf[purchase.id], let recorded = try? Earn.recorded(purchase) else { continue }
            let earned = recorded.earned + credited[purchase.id, default: .zero]
            var refunded: Int64 = 0, reversed = Points.zero
            for refund in refunds.sorted(by: { LotOrder($0) < LotOrder($1) }) {
                let fen = (try? Refund.refundedAmount(refund)) ?? 0, points = Refund.reversed(refund)
                if refunded + fen <= recorded.amount.value, reversed + points <= earned {
                    refunded += fen
                    reversed += points
                } else {
                    void.insert(refund.id)
                }
            }
        }
        return void
    }

    /// The receipt id whose refunds' standing an entry's arrival can change: a purchase's, a
    /// refund's or a late credit's.
    public static func receipt(affectedBy entry: LedgerEntry) -> ReceiptID? {
        switch entry.code {
        case Earn.code: try? ReceiptID(validating: entry.idempotencyKey.id)
        case Refund.code: Refund.receipt(of: entry)
        case CampaignCredit.code: CampaignCredit.receipt(of: entry)
        default: nil
        }
    }

    /// The refunds of `receipt` that `source` holds, and which of them are void given its
    /// counting purchases and their late credits.
    public static func void(of receipt: ReceiptID, in source: some FactsSource) throws -> (refunds: [LedgerEntry], void: Set<EntryID>) {
        let refunds = try source.linkedEntries(Refund.link(receipt)).filter { $0.code == Refund.code }
        guard !refunds.isEmpty else { return ([], []) }
        let purchases = try source.countingEntries(for: IdempotencyKey(scope: Earn.scope, id: receipt.rawValue)).filter { $0.code == Earn.code }
        let credits = try purchases.flatMap { try source.linkedEntries(CampaignCredit.creditsLink($0.id)) }
        return (refunds, void(among: purchases + credits + refunds))
    }

    /// The purchase's refunds that stand, among those `source` holds, in ledger order.
    public static func standing(of purchase: LedgerEntry, from source: some FactsSource) throws -> [LedgerEntry] {
        guard let receipt = try? ReceiptID(validating: purchase.idempotencyKey.id) else { return [] }
        let (refunds, void) = try void(of: receipt, in: source)
        return refunds.filter { Refund.refunds($0, purchase: purchase) && !void.contains($0.id) }.sorted { LotOrder($0) < LotOrder($1) }
    }

    /// Whether `entry` stands, with its purchase and the purchase's refunds from `source`
    /// (every entry but a refund does, as far as this rule goes).
    public static func stands(_ entry: LedgerEntry, in source: some FactsSource) throws -> Bool {
        guard entry.code == Refund.code, let receipt = Refund.receipt(of: entry) else { return true }
        let purchases = try source.countingEntries(for: IdempotencyKey(scope: Earn.scope, id: receipt.rawValue))
        guard let purchase = purchases.first(where: { $0.code == Earn.code && Refund.refunds(entry, purchase: $0) }) else { return true }
        return try standing(of: purchase, from: source).contains { $0.id == entry.id }
    }
}

/// Whether an entry's moves stand on the history held: every condition the converged history
/// decides (`FamilyCondition` for transfers, `RefundCondition` for refunds). One that does not
/// stand does nothing to any lot or counter.
public enum EntryCondition {
    public static func stands(_ entry: LedgerEntry, in source: some FactsSource) throws -> Bool {
        try FamilyCondition.stands(entry, in: source) && RefundCondition.stands(entry, in: source)
    }
}
