/// Earning: a purchase credits 1 point per whole yuan from the store's issuance account.
/// Points that a debt is owed for (from an earlier refund of spent points) go back at once
/// and the debt shrinks by as much.
public enum Earn: EntryKindRule {
    public struct Request: Hashable, Sendable {
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

    public static let name = "earn"
    public static let code = EntryCode(1)
    public static let scope = "receipt"
    public static let route = "/v1/purchases"
    public static let access = Access.till
    public static let summary = "Record a purchase and earn its points (1 point per whole yuan), a lot that expires under the expiry policy in force. A receipt earns once chain-wide; sending it again answers 200 with the original result."

    enum Fields {
        static let receipt = FieldSpec("receipt_id", .id, "The point-of-sale receipt; it earns once chain-wide.")
        static let account = FieldSpec("account_id", .id, "The customer account to credit.")
        static let amount = FieldSpec("amount_fen", .positiveInteger(maximum: Limits.maximumAmount.value), "The purchase amount in fen.")
        static let sku = FieldSpec("sku", .id, "The product.")
        static let category = FieldSpec("category", .id, "The product's category (campaigns filter on it).")
        static let itemAmount = FieldSpec("amount_fen", .positiveInteger(maximum: Limits.maximumAmount.value), "The line's amount in fen.")
        static let items = FieldSpec.optional("items", .array(of: [sku, category, itemAmount], maximumCount: Limits.maximumItems), "The receipt's lines.")
    }

    public static let requestFields = [Fields.receipt, Fields.account, Fields.amount, Fields.items]
    public static let responseFields = [
        AnswerFields.accountID, AnswerFields.balance, AnswerFields.createdAt,
        FieldSpec("debt_delta", .integer, "Change in the account's debt: negative when these points repaid debt."),
        AnswerFields.entryID, FieldSpec("points", .integer, "Points earned."), AnswerFields.replayed,
        .optional("expires_at", .time, "When the points earned expire (under the expiry policy in force)."),
        .optional("pending_until", .time, "With a return window: when the points earned become spendable; until then they are pending."),
        .optional("pooled_to", .id, "For a member who auto-pools: the family pool the points went to (recorded as the member's); `balance` is then the member's own."),
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = []

    /// Detail tags.
    enum Tag {
        static let receipt: UInt64 = 1
        static let amount: UInt64 = 2
        static let item: UInt64 = 3
        /// The member an auto-pooled earning is recorded for (its points went to the pool).
        static let member: UInt64 = 9
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        var items: [PurchaseItem] = []
        for item in try body.objects(Fields.items) {
            items.append(PurchaseItem(sku: try item.identifier(Fields.sku), category: try item.identifier(Fields.category),
                                      amount: Fen(try item.positiveInteger(Fields.itemAmount))))
        }
        return Request(receipt: try body.identifier(Fields.receipt), account: try body.identifier(Fields.account),
                       amount: Fen(try body.positiveInteger(Fields.amount)), items: items)
    }

    public static func idempotencyID(_ request: Request) -> String { request.receipt.rawValue }

    public static func canonicalForm(_ r: Request) -> String {
        var text = "purchase\n\(r.receipt)\n\(r.account)\n\(r.amount)\n"
        for item in r.items { text += "item\t\(item.sku)\t\(item.category)\t\(item.amount)\n" }
        return text
    }

    /// The customer's lots and debt, the expiry policy versions, and the family pool its
    /// earnings go to (a member who auto-pools and owes no debt: debt is the member's own, so its
    /// earnings repay it first).
    public struct Facts: Sendable {
        public var account: AccountFacts
        public var policies: ExpiryPolicies
        public var pool: FamilyID?

        public init(account: AccountFacts, policies: ExpiryPolicies, pool: FamilyID? = nil) {
            self.account = account
            self.policies = policies
            self.pool = pool
        }
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        let account = try source.accountFacts(of: request.account, at: context.now)
        return Facts(account: account, policies: try source.expiryPolicies(),
                     pool: account.debt == .zero ? try FamilyMembership.autoPool(of: request.account, from: source) : nil)
    }

    /// The source of the lot a receipt earned (its idempotency key): refunds of the receipt,
    /// and a repayment inside a return window, take from it first.
    static func lotSource(_ receipt: ReceiptID) -> String { IdempotencyKey(scope: scope, id: receipt.rawValue).description }

    /// Base rate: one point per whole yuan.
    public static let fenPerPoint: Int64 = 100

    public static func pointsEarned(for amount: Fen) -> Points { Points(max(0, amount.value) / fenPerPoint) }

    /// The points are a lot that expires under the policy in force now, pending for the node's
    /// return window. Debt is repaid from them; inside a return window, from this lot itself
    /// (the only points a refund of this receipt may cancel without making debt).
    public static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision {
        let earned = pointsEarned(for: request.amount)
        let repaid = min(earned, facts.account.debt)
        let policy = facts.policies.inForce(at: context.now)
        let terms = LotEvents.Terms(move: 0, maturesAt: context.now + context.returnWindow,
                                    expiresAt: policy.rule.expiry(earnedAt: context.now), policy: policy.id)
        let pending = context.returnWindow > 0
        if let pool = facts.pool {
            // Credited to the pool, recorded as the member's: in its history, its balance unchanged.
            var details = details(receipt: request.receipt, amount: request.amount, items: request.items,
                                  balanceAfter: facts.account.summary.spendable, terms: terms)
            details = EntryDetails(bytes: details.bytes + pooledFor(request.account).bytes)
            return KindDecision(moves: [Move(debit: .issued(by: context.node), credit: LedgerAccount(pool.pool), amount: earned)], details: details)
        }
        let preferring = pending && repaid > .zero ? lotSource(request.receipt) : nil
        return KindDecision(
            moves: moves(customer: request.account, earned: earned, repaid: repaid, store: context.node),
            details: details(receipt: request.receipt, amount: request.amount, items: request.items,
                             balanceAfter: facts.account.summary.spendableAfterEarning(earned, repaying: repaid, pending: pending),
                             terms: terms, preferring: preferring))
    }

    /// The moves of an earning (also used to upgrade entries of the previous release).
    public static func moves(customer: AccountID, earned: Points, repaid: Points, store: NodeID) -> [Move] {
        let customer = LedgerAccount(customer)
        var moves = [Move(debit: .issued(by: store), credit: customer, amount: earned)]
        if repaid > .zero {
            moves.append(Move(debit: customer, credit: .clawedBack(by: store), amount: repaid))
            moves.append(Move(debit: customer, credit: .debtOwed, amount: repaid, asset: .debt))
        }
        return moves
    }

    public static func details(receipt: ReceiptID, amount: Fen, items: [PurchaseItem], balanceAfter: Points,
                               terms: LotEvents.Terms? = nil, preferring: String? = nil) -> EntryDetails {
        var writer = DetailsWriter()
        if let terms { LotEvents.add(terms, to: &writer) }
        if let preferring { LotEvents.addPreferring(preferring, to: &writer) }
        writer.text(Tag.receipt, receipt.rawValue)
        writer.number(Tag.amount, amount.value)
        for item in items {
            var line = DetailsWriter()
            line.text(1, item.sku.rawValue)
            line.text(2, item.category.rawValue)
            line.number(3, item.amount.value)
            writer.field(Tag.item) { $0.raw(line.details.bytes) }
        }
        writer.number(CommonDetails.balanceAfter, balanceAfter.value)
        return writer.details
    }

    /// The member an auto-pooled earning is for, as its subject (its history) and in tag 9.
    private static func pooledFor(_ member: AccountID) -> EntryDetails {
        var writer = DetailsWriter()
        LotEvents.addSubject(member, to: &writer)
        writer.text(Tag.member, member.rawValue)
        return writer.details
    }

    /// What an earning entry records, read back.
    public struct Recorded: Sendable {
        public var receipt: ReceiptID
        public var amount: Fen
        public var items: [PurchaseItem]
        public var customer: AccountID
        public var earned: Points
    }

    public static func recorded(_ entry: LedgerEntry) throws(DecodingError) -> Recorded {
        let reader = try entry.details.reader()
        guard let receipt: ReceiptID = try reader.identifier(Tag.receipt), let amount = try reader.number(Tag.amount),
              let first = entry.moves.first, let customer = first.credit.customer
        else { throw .invalid("earn entry \(entry.id) lacks its receipt, amount or move") }
        var items: [PurchaseItem] = []
        for bytes in reader.values(Tag.item) {
            let line = try EntryDetails(bytes: bytes).reader()
            guard let sku: SKU = try line.identifier(1), let category: CategoryID = try line.identifier(2), let fen = try line.number(3) else {
                throw .invalid("earn entry \(entry.id): item")
            }
            items.append(PurchaseItem(sku: sku, category: category, amount: Fen(fen)))
        }
        return Recorded(receipt: receipt, amount: Fen(amount), items: items, customer: customer, earned: first.amount)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        let recorded = try recorded(entry)
        let member: AccountID? = try entry.details.reader().identifier(Tag.member)
        return try AnswerWriter.pointsMoved(entry, customer: member ?? recorded.customer, amountKey: "points", amount: recorded.earned.value,
                                            replayed: replayed, lot: try LotEvents.terms(of: entry).first,
                                            pooledTo: member == nil ? nil : recorded.customer)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let recorded = try recorded(entry)
        var fields: [String: JSONValue] = [
            "receipt_id": .string(recorded.receipt.rawValue), "amount_fen": .integer(recorded.amount.value),
            "points": .integer(recorded.earned.value),
        ]
        if let member = try entry.details.reader().text(Tag.member) {
            fields["member_id"] = .string(member)
            fields["pooled_to"] = .string(recorded.customer.rawValue)
        }
        if !recorded.items.isEmpty {
            fields["items"] = .array(recorded.items.map {
                .object(["sku": .string($0.sku.rawValue), "category": .string($0.category.rawValue), "amount_fen": .integer($0.amount.value)])
            })
        }
        return fields
    }
}
