import PointMeshJSON

/// A refund of part or all of a receipt: the points it earned go back to the store pro rata.
/// What the customer already spent can't be taken, so the balance stops at zero and the rest
/// becomes debt, which later earnings repay (`Earn`).
public enum Refund: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var refund: RequestID
        public var receipt: ReceiptID
        public var amount: Fen

        public init(refund: RequestID, receipt: ReceiptID, amount: Fen) {
            self.refund = refund
            self.receipt = receipt
            self.amount = amount
        }
    }

    /// The purchase, what earlier refunds of it took, and its customer's state.
    public struct Facts: Sendable {
        public var purchase: Earn.Recorded?
        /// The purchase's request hash (the refund names it).
        public var purchaseRequest: RequestHash?
        public var refundedSoFar: Fen
        /// Points, and green points, the earlier refunds of the receipt reversed.
        public var reversedSoFar: Points = .zero
        public var greenReversedSoFar: Points = .zero
        public var account: AccountFacts
        /// Points of the receipt's own lot still pending (inside a return window); under spending
        /// rights, of that lot if this node holds it.
        public var pendingFromReceipt: Points
        /// The account's spending rights held here (`SpendingRights.held`).
        public var held: HeldRights?
        /// Under spending rights, the points of the receipt's own lot still pending whoever holds it.
        public var pendingFromReceiptAnywhere: Points = .zero
    }

    public static let name = "refund"
    public static let code = EntryCode(2)
    public static let scope = "refund"
    public static let conditions: EntryConditions = .refund
    public static let route = "/v1/refunds"
    public static let access = Access.till
    public static let summary = "Refund part or all of a receipt: its points are reversed pro rata; points already spent become debt."

    enum Fields {
        static let refund = FieldSpec("refund_id", .id, "The client's id for this refund; a retry with it never refunds twice.")
        static let receipt = FieldSpec("receipt_id", .id, "The receipt being refunded.")
        static let amount = FieldSpec("amount_fen", .positiveInteger(maximum: Limits.maximumAmount.value), "The refunded amount in fen.")
    }

    public static let requestFields = [Fields.refund, Fields.receipt, Fields.amount]
    public static let responseFields = [
        AnswerFields.accountID, AnswerFields.balance, AnswerFields.createdAt,
        FieldSpec("debt_delta", .integer, "Points that became debt because they were already spent."),
        AnswerFields.entryID, FieldSpec("points_reversed", .integer, "Points the refund reversed."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (404, "receipt_not_found", "no purchase with that receipt on this node"),
        (409, "refund_exceeds_purchase", "cumulative refunds would exceed the purchase amount"),
    ]

    enum Tag {
        static let receipt: UInt64 = 1
        static let amount: UInt64 = 2
        static let reversed: UInt64 = 6
        static let greenReversed: UInt64 = 7
        /// The request hash of the purchase refunded (hex): two stores' purchases may share a
        /// receipt id (each counts), while identical copies of one purchase share the hash.
        static let purchase: UInt64 = 8
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        Request(refund: try body.identifier(Fields.refund), receipt: try body.identifier(Fields.receipt),
                amount: Fen(try body.positiveInteger(Fields.amount)))
    }

    public static func idempotencyID(_ request: Request) -> String { request.refund.rawValue }

    public static func canonicalForm(_ r: Request) -> String { "refund\n\(r.refund)\n\(r.receipt)\n\(r.amount)\n" }

    static func link(_ receipt: ReceiptID) -> String { "receipt:\(receipt.rawValue)" }

    /// The fen a refund entry refunded (0 for an entry of another kind under the same link).
    static func refundedAmount(_ entry: LedgerEntry) throws(DecodingError) -> Int64 {
        guard entry.code == code else { return 0 }
        return try entry.details.reader().number(Tag.amount) ?? 0
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        guard let entry = try Earn.purchase(of: request.receipt, decidedAt: context.node, from: source) else {
            return Facts(purchase: nil, refundedSoFar: .zero, account: .empty, pendingFromReceipt: .zero)
        }
        var purchase = try Earn.recorded(entry)
        // Late campaign credits of the receipt are part of what it earned: refunds reverse them too.
        for credit in try source.linkedEntries(CampaignCredit.creditsLink(entry.id)) where credit.code == CampaignCredit.code {
            let (points, green) = try CampaignCredit.credited(credit)
            purchase.earned += points
            if green { purchase.green += points }
        }
        var refunded = Fen.zero, reversed = Points.zero, greenReversed = Points.zero
        for refund in try RefundCondition.standing(of: entry, from: source) {
            refunded = refunded + Fen(try refundedAmount(refund))
            let reader = try refund.details.reader()
            reversed += Points(try reader.number(Tag.reversed) ?? 0)
            greenReversed += Points(try reader.number(Tag.greenReversed) ?? 0)
        }
        return Facts(purchase: purchase, purchaseRequest: entry.requestHash, refundedSoFar: refunded, reversedSoFar: reversed, greenReversedSoFar: greenReversed,
                     account: try source.accountFacts(of: purchase.customer, at: context.now),
                     pendingFromReceipt: try source.pendingPoints(of: purchase.customer, source: Earn.lotSource(request.receipt), at: context.now,
                                                                  heldBy: context.settings.spendingRights ? context.node : nil),
                     held: try SpendingRights.held(of: purchase.customer, from: source, context: context),
                     pendingFromReceiptAnywhere: context.settings.spendingRights
                         ? try source.pendingPoints(of: purchase.customer, source: Earn.lotSource(request.receipt), at: context.now, heldBy: nil) : .zero)
    }

    /// The points a refund entry reversed (0 for an entry of another kind).
    static func reversed(_ refund: LedgerEntry) -> Points {
        guard refund.code == code else { return .zero }
        return Points(((try? refund.details.reader().number(Tag.reversed)) ?? 0) ?? 0)
    }

    /// The receipt a refund entry names.
    static func receipt(of refund: LedgerEntry) -> ReceiptID? {
        guard refund.code == code, let text = try? refund.details.reader().text(Tag.receipt) else { return nil }
        return try? ReceiptID(validating: text)
    }

    /// Whether refund entry `refund` refunds `purchase` (an earning under its receipt id): it
    /// names the purchase's request hash, or, written before refunds named theirs (release 0.6),
    /// it takes from the account the purchase credited.
    static func refunds(_ refund: LedgerEntry, purchase: LedgerEntry) -> Bool {
        guard refund.code == code else { return false }
        if let text = try? refund.details.reader().text(Tag.purchase) { return RequestHash(hex: text) == purchase.requestHash }
        return refund.moves.first?.debit == purchase.moves.first?.credit
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

    public static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard let purchase = facts.purchase else { throw .receiptNotFound(request.receipt) }
        let refundedAfter = facts.refundedSoFar + request.amount
        guard refundedAfter <= purchase.amount else {
            throw .refundExceedsPurchase(receipt: request.receipt, remaining: purchase.amount - facts.refundedSoFar)
        }
        // The receipt's share refunded so far of what it earned (late campaign credits included),
        // less what earlier refunds reversed: refunds in parts reverse exactly what it earned.
        let reversal = max(.zero, pointsReversed(earned: purchase.earned, amount: purchase.amount, refunded: refundedAfter) - facts.reversedSoFar)
        // The points come back from the receipt's own lot first (still pending inside a return
        // window, when they are simply cancelled), then from spendable lots soonest to expire.
        // The balance never goes below zero: what was already spent becomes debt.
        let summary = facts.account.summary
        // Under spending rights only lots this node holds: first the node asks the holders for
        // the rest (a refusal its edge answers by asking and deciding again), then what they
        // did not grant is debt, as if spent.
        let taken = min(reversal, max(.zero, SpendingRights.servable(balance: summary.spendable, held: facts.held) + facts.pendingFromReceipt))
        if facts.held != nil, context.holdersAsked == nil {
            let anywhere = min(reversal, max(.zero, summary.spendable + facts.pendingFromReceiptAnywhere))
            if taken < anywhere { throw .insufficientPointsOffline(account: purchase.customer, servable: taken, requested: anywhere) }
        }
        // The green part is reversed pro rata too, from the receipt's green lot first, so a
        // refund of a green purchase claws back green points.
        let greenReversal = min(reversal, max(.zero, pointsReversed(earned: purchase.green, amount: purchase.amount, refunded: refundedAfter)
            - facts.greenReversedSoFar))
        let greenTaken = min(greenReversal, taken)
        var moves = moves(customer: purchase.customer, taken: taken - greenTaken, debt: reversal - taken, store: context.node)
        var details = details(receipt: request.receipt, amount: request.amount, reversed: reversal,
                              balanceAfter: summary.spendableAfterDebit(taken, pendingFromSource: facts.pendingFromReceipt),
                              preferring: Earn.lotSource(request.receipt), purchase: facts.purchaseRequest)
        if let member = purchase.member {
            // An auto-pooled receipt's refund takes from the pool, recorded as the member's too.
            var writer = DetailsWriter()
            LotEvents.addSubject(member, to: &writer)
            details = EntryDetails(bytes: details.bytes + writer.details.bytes)
        }
        if greenReversal > .zero {
            var writer = DetailsWriter()
            writer.number(Tag.greenReversed, greenReversal.value)
            details = EntryDetails(bytes: details.bytes + writer.details.bytes)
        }
        if greenTaken > .zero {
            var writer = DetailsWriter()
            LotEvents.addGreenPreference(move: 0, green: false, to: &writer)
            LotEvents.addGreenPreference(move: moves.count, green: true, to: &writer)
            moves.append(Move(debit: LedgerAccount(purchase.customer), credit: .clawedBack(by: context.node), amount: greenTaken))
            details = EntryDetails(bytes: details.bytes + writer.details.bytes)
        }
        return KindDecision(moves: moves, details: details)
    }

    /// The moves of a refund (also used to upgrade entries of the previous release).
    public static func moves(customer: AccountID, taken: Points, debt: Points, store: NodeID) -> [Move] {
        let customer = LedgerAccount(customer)
        var moves = [Move(debit: customer, credit: .clawedBack(by: store), amount: taken)]
        if debt > .zero { moves.append(Move(debit: .debtOwed, credit: customer, amount: debt, asset: .debt)) }
        return moves
    }

    /// `preferring` is absent from refunds upgraded from release 0.2, which took soonest-first.
    public static func details(receipt: ReceiptID, amount: Fen, reversed: Points, balanceAfter: Points, preferring: String? = nil,
                               purchase: RequestHash? = nil) -> EntryDetails {
        var writer = DetailsWriter()
        EntryLinks.add(link(receipt), to: &writer)
        if let preferring { LotEvents.addPreferring(preferring, to: &writer) }
        writer.text(Tag.receipt, receipt.rawValue)
        writer.number(Tag.amount, amount.value)
        writer.number(Tag.reversed, reversed.value)
        writer.number(CommonDetails.balanceAfter, balanceAfter.value)
        if let purchase { writer.text(Tag.purchase, purchase.hex) }
        return writer.details
    }

    private static func customer(_ entry: LedgerEntry) throws(DecodingError) -> AccountID {
        guard let customer = entry.moves.first?.debit.customer else { throw .invalid("refund entry \(entry.id) lacks its move") }
        return customer
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        try WriteAnswer.pointsMoved(entry, customer: try customer(entry), amountKey: "points_reversed",
                                     amount: try entry.details.reader().number(Tag.reversed) ?? 0, replayed: replayed)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let reader = try entry.details.reader()
        return [
            "receipt_id": .string(try reader.text(Tag.receipt) ?? ""), "refund_id": .string(entry.idempotencyKey.id),
            "amount_fen": .integer(try reader.number(Tag.amount) ?? 0), "points": .integer(try reader.number(Tag.reversed) ?? 0),
        ]
    }
}
