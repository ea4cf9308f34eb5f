import PointMeshJSON
import PointMeshCrypto

/// Earning: a purchase credits 1 point per whole yuan, and what the campaigns in force add
/// (`EarningRules`), from the store's issuance account for the month; green points as a lot of
/// their own. Points that a debt is owed for (from an earlier refund of spent points) go back
/// at once and the debt shrinks by as much. An earning past an issuance budget the store knows
/// of is refused unless the request overrides it with a reason.
public enum Earn: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var receipt: ReceiptID
        public var account: AccountID
        public var amount: Fen { didSet { derived = ReceiptLines(amount: amount, items: items) } }
        /// The receipt's lines, kept as `derived` (read back from its fields when asked).
        public var items: [PurchaseItem] {
            get { derived.items }
            set { derived = ReceiptLines(amount: amount, items: newValue) }
        }
        /// Why the issuance budget may be exceeded, when it may.
        public var budgetOverride: String?
        /// Made from `amount` and the items where the request is made (on the event loop), so
        /// the single writer neither sums the lines per category nor encodes them.
        private(set) var derived: ReceiptLines

        public init(receipt: ReceiptID, account: AccountID, amount: Fen, items: [PurchaseItem] = [], budgetOverride: String? = nil) {
            self.init(receipt: receipt, account: account, amount: amount, lines: ReceiptLines(amount: amount, items: items), budgetOverride: budgetOverride)
        }

        /// A request whose lines were taken as they were read (`PlainPurchaseReader`).
        init(receipt: ReceiptID, account: AccountID, amount: Fen, lines: ReceiptLines, budgetOverride: String? = nil) {
            self.receipt = receipt
            self.account = account
            self.amount = amount
            self.budgetOverride = budgetOverride
            derived = lines
        }

        // The items compare as their encoded fields: one encoding for each list of items.
        public static func == (lhs: Request, rhs: Request) -> Bool {
            (lhs.receipt, lhs.account, lhs.amount, lhs.derived.fields, lhs.budgetOverride) == (rhs.receipt, rhs.account, rhs.amount, rhs.derived.fields, rhs.budgetOverride)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(receipt)
            hasher.combine(account)
            hasher.combine(amount)
            hasher.combine(derived.fields)
            hasher.combine(budgetOverride)
        }
    }

    public static let name = "earn"
    public static let code = EntryCode(1)
    public static let scope = "receipt"
    /// A purchase is the customer at the till: their spending rights follow them here.
    public static let customerIsHere = true
    public static let route = "/v1/purchases"
    public static let access = Access.till
    public static let summary = "Record a purchase and earn its points: 1 point per whole yuan plus what the campaigns in force add, green points for green categories, as lots that expire under the expiry policy in force. A receipt earns once chain-wide; sending it again answers 200 with the original result."

    enum Fields {
        static let receipt = FieldSpec("receipt_id", .id, "The point-of-sale receipt; it earns once chain-wide.")
        static let account = FieldSpec("account_id", .id, "The customer account to credit.")
        static let amount = FieldSpec("amount_fen", .positiveInteger(maximum: Limits.maximumAmount.value), "The purchase amount in fen.")
        static let sku = FieldSpec("sku", .id, "The product.")
        static let category = FieldSpec("category", .id, "The product's category (campaigns filter on it).")
        static let itemAmount = FieldSpec("amount_fen", .positiveInteger(maximum: Limits.maximumAmount.value), "The line's amount in fen.")
        static let items = FieldSpec.optional("items", .array(of: [sku, category, itemAmount], maximumCount: Limits.maximumItems), "The receipt's lines (their amounts sum to at most amount_fen).")
        static let reason = FieldSpec("reason", .boundedText(maximumLength: 500), "Why the budget may be exceeded; recorded.")
        static let budgetOverride = FieldSpec.optional("budget_override", .object([reason]), "Issue even past the month's issuance budget, for this reason.")
    }

    public static let requestFields = [Fields.receipt, Fields.account, Fields.amount, Fields.items, Fields.budgetOverride]
    public static let responseFields = [
        AnswerFields.accountID, AnswerFields.balance, AnswerFields.createdAt,
        FieldSpec("debt_delta", .integer, "Change in the account's debt: negative when these points repaid debt."),
        AnswerFields.entryID, FieldSpec("points", .integer, "Points earned."), AnswerFields.replayed,
        .optional("expires_at", .time, "When the points earned expire (under the expiry policy in force)."),
        .optional("pending_until", .time, "With a return window: when the points earned become spendable; until then they are pending."),
        .optional("pooled_to", .id, "For a member who auto-pools: the family pool the points went to (recorded as the member's); `balance` is then the member's own."),
        FieldSpec("campaigns", .array(of: [FieldSpec("campaign_id", .id, "The campaign."), FieldSpec("points", .integer, "Points it added.")],
                                      maximumCount: 1_000), "What each campaign added (included in `points`)."),
        FieldSpec("green_points", .integer, "The green part of `points`."),
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (409, "budget_exhausted", "the earning would exceed a monthly issuance budget and carries no budget_override"),
    ]

    /// Detail tags.
    enum Tag {
        static let receipt: UInt64 = 1
        static let amount: UInt64 = 2
        static let item: UInt64 = 3
        /// The member an auto-pooled earning is recorded for (its points went to the pool).
        static let member: UInt64 = 9
        /// Budget override reason.
        static let budgetOverride: UInt64 = 10
        /// A campaign's points, repeated: nested 1 campaign id, 2 points, 3 green.
        static let campaign: UInt64 = 11
        /// The green part of the points.
        static let green: UInt64 = 12
        /// A campaign in force that added nothing (its lines went to a larger multiplier, or
        /// none matched), repeated: so a late sweep knows the purchase was decided with it.
        static let considered: UInt64 = 13
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        var items: [PurchaseItem] = []
        for item in try body.objects(Fields.items) {
            items.append(PurchaseItem(sku: try item.identifier(Fields.sku), category: try item.identifier(Fields.category),
                                      amount: Fen(try item.positiveInteger(Fields.itemAmount))))
        }
        let amount = Fen(try body.positiveInteger(Fields.amount))
        guard items.reduce(Int64(0), { $0 + $1.amount.value }) <= amount.value else {
            throw .invalidField("items", "the lines' amounts sum to more than amount_fen")
        }
        let budgetOverride = try body.object(Fields.budgetOverride).map { (override) throws(RequestError) in try override.text(Fields.reason) }
        return Request(receipt: try body.identifier(Fields.receipt), account: try body.identifier(Fields.account),
                       amount: amount, items: items, budgetOverride: budgetOverride)
    }

    public static func quickRequest(from body: [UInt8]) -> Request? { PlainPurchaseReader.request(from: body) }

    public static func idempotencyID(_ request: Request) -> String { request.receipt.rawValue }

    public static func canonicalForm(_ r: Request) -> String { String(decoding: canonicalBytes(r), as: UTF8.self) }

    public static func requestHash(_ r: Request) -> RequestHash { RequestHash(bytes: SHA256Digest.bytes(of: canonicalBytes(r))) }

    /// `canonicalForm` as bytes, the lines made once with the request (`ReceiptLines.canonical`):
    /// a receipt of many lines is put together on the event loop for every purchase.
    private static func canonicalBytes(_ r: Request) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(40 + r.receipt.rawValue.utf8.count + r.account.rawValue.utf8.count + r.derived.canonical.count)
        text.append(contentsOf: "purchase\n".utf8)
        text.append(contentsOf: r.receipt.rawValue.utf8)
        text.append(UInt8(ascii: "\n"))
        text.append(contentsOf: r.account.rawValue.utf8)
        text.append(UInt8(ascii: "\n"))
        text.appendDecimal(r.amount.value)
        text.append(UInt8(ascii: "\n"))
        text.append(contentsOf: r.derived.canonical)
        if let reason = r.budgetOverride { text.append(contentsOf: "override\t\(reason)\n".utf8) }
        return text
    }

    /// The customer's lots and debt, the expiry policy versions, and the family pool its
    /// earnings go to (a member who auto-pools and owes no debt: debt is the member's own, so its
    /// earnings repay it first).
    public struct Facts: Sendable {
        public var account: AccountFacts
        public var policies: ExpiryPolicies
        public var pool: FamilyID?
        /// The campaigns in force for this store now, and the green categories.
        public var rates = EarningRules.Rates.none
        /// The issuance budgets for this store this month, with what they have used.
        public var budgets: [BudgetLimit] = []

        public init(account: AccountFacts, policies: ExpiryPolicies, pool: FamilyID? = nil) {
            self.account = account
            self.policies = policies
            self.pool = pool
        }
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        let account = try source.accountFacts(of: request.account, at: context.now)
        var facts = Facts(account: account, policies: try source.expiryPolicies(),
                          pool: account.debt == .zero ? try source.autoPoolFamily(of: request.account) : nil)
        facts.rates = try source.earningRates(at: context.now, store: context.node)
        let month = CalendarMonth(containing: context.now)
        facts.budgets = try source.catalog().budgets(for: context.node, in: month).map { budget in
            let store: NodeID? = if case .store(let store) = budget.scope { store } else { nil }
            // Under spending rights a chain budget is the rights to issue this store holds.
            let held = store == nil && context.settings.spendingRights ? try source.rightsToIssue(heldBy: context.node, in: month) : nil
            return BudgetLimit(scope: budget.scope, points: budget.points, used: try source.issued(by: store, in: month), held: held)
        }
        return facts
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
        guard FamilyID.owning(pool: request.account) == nil else {
            throw .fieldNotApplicable(field: "account_id", why: "'\(request.account)' is a family pool: a pool earns only through members who auto-pool, so a receipt names the customer")
        }
        let earning = facts.rates.earning(amount: request.amount, lines: request.derived.sums)
        let earned = earning.total
        let month = CalendarMonth(containing: context.now)
        if request.budgetOverride == nil, let limit = BudgetLimit.exceeded(facts.budgets, by: earned) {
            throw .budgetExhausted(scope: limit.scope, month: month, left: limit.left, requested: earned, held: limit.held != nil)
        }
        let policy = facts.policies.inForce(at: context.now)
        let maturesAt = context.now + context.settings.returnWindow, expiresAt = policy.rule.expiry(earnedAt: context.now)
        let pending = context.settings.returnWindow > 0
        let issuer = LedgerAccount.issued(by: context.node, in: month)
        // A member who auto-pools earns into the pool, recorded as theirs: in their history,
        // their balance unchanged; a member with debt repays it first (`facts`).
        let credited = facts.pool.map { LedgerAccount($0.pool) } ?? LedgerAccount(request.account)
        let repaid = facts.pool == nil ? min(earned, facts.account.debt) : .zero
        var moves = [Move(debit: issuer, credit: credited, amount: earning.regular)]
        // Room for the lot terms, the receipt and its lines, and each campaign's part, reserved
        // once: grown as it goes, a 20-line receipt under campaigns is copied several times.
        var writer = DetailsWriter(capacity: 128 + request.derived.fields.bytes.count + 32 * facts.rates.campaigns.count)
        LotEvents.add(LotEvents.Terms(move: 0, maturesAt: maturesAt, expiresAt: expiresAt, policy: policy.id), to: &writer)
        if earning.green > .zero {
            LotEvents.add(LotEvents.Terms(move: moves.count, maturesAt: maturesAt, expiresAt: expiresAt, policy: policy.id, green: true), to: &writer)
            moves.append(Move(debit: issuer, credit: credited, amount: earning.green))
        }
        if repaid > .zero {
            moves += DebtRepayment.moves(of: credited, repaying: repaid, store: context.node)
            if pending { LotEvents.addPreferring(lotSource(request.receipt), to: &writer) }
        }
        writeCommon(receipt: request.receipt, amount: request.amount, items: request.derived.fields, to: &writer)
        for campaign in earning.campaigns {
            writer.group(Tag.campaign) { field in
                field.text(1, campaign.campaign.rawValue)
                field.number(2, campaign.points.value)
                if campaign.green { field.number(3, 1) }
            }
        }
        for campaign in earning.considered { writer.text(Tag.considered, campaign.rawValue) }
        if earning.green > .zero { writer.number(Tag.green, earning.green.value) }
        writer.text(Tag.budgetOverride, request.budgetOverride)
        if facts.pool != nil {
            LotEvents.addSubject(request.account, to: &writer)
            writer.text(Tag.member, request.account.rawValue)
            writer.number(CommonDetails.balanceAfter, facts.account.summary.spendable.value)
        } else {
            writer.number(CommonDetails.balanceAfter, facts.account.summary.spendableAfterEarning(earned, repaying: repaid, pending: pending).value)
        }
        return KindDecision(moves: moves, details: writer.details)
    }

    /// The moves of an earning (also used to upgrade entries of the previous release).
    public static func moves(customer: AccountID, earned: Points, repaid: Points, store: NodeID) -> [Move] {
        let customer = LedgerAccount(customer)
        return [Move(debit: .issued(by: store), credit: customer, amount: earned)]
            + DebtRepayment.moves(of: customer, repaying: repaid, store: store)
    }

    public static func details(receipt: ReceiptID, amount: Fen, items: [PurchaseItem], balanceAfter: Points,
                               terms: LotEvents.Terms? = nil, preferring: String? = nil) -> EntryDetails {
        var writer = DetailsWriter()
        if let terms { LotEvents.add(terms, to: &writer) }
        if let preferring { LotEvents.addPreferring(preferring, to: &writer) }
        writeCommon(receipt: receipt, amount: amount, items: ReceiptLines(amount: amount, items: items).fields, to: &writer)
        writer.number(CommonDetails.balanceAfter, balanceAfter.value)
        return writer.details
    }

    /// The receipt, its amount and its items (`ReceiptLines.fields`).
    private static func writeCommon(receipt: ReceiptID, amount: Fen, items: EntryDetails, to writer: inout DetailsWriter) {
        writer.text(Tag.receipt, receipt.rawValue)
        writer.number(Tag.amount, amount.value)
        writer.append(items)
    }

    /// Every campaign the earning was decided with: those that added points and those in
    /// force that added nothing.
    public static func consideredCampaigns(_ entry: LedgerEntry) throws(DecodingError) -> [CampaignID] {
        try campaignPoints(entry).map(\.campaign)
            + entry.details.reader().values(Tag.considered).compactMap { try? CampaignID(validating: String(decoding: $0, as: UTF8.self)) }
    }

    /// What each campaign added to an earning, as recorded.
    public static func campaignPoints(_ entry: LedgerEntry) throws(DecodingError) -> [EarningRules.CampaignPoints] {
        var result: [EarningRules.CampaignPoints] = []
        for bytes in try entry.details.reader().values(Tag.campaign) {
            let field = try EntryDetails(bytes: bytes).reader()
            guard let id: CampaignID = try field.identifier(1), let points = try field.number(2) else { throw .invalid("earn entry \(entry.id): campaign") }
            result.append(EarningRules.CampaignPoints(campaign: id, points: Points(points), green: try field.number(3) == 1))
        }
        return result
    }

    /// What an earning entry records, read back.
    public struct Recorded: Sendable {
        public var receipt: ReceiptID
        public var amount: Fen
        public var items: [PurchaseItem]
        public var customer: AccountID
        public var earned: Points
        /// The green part of `earned`.
        public var green: Points
        /// For an auto-pooled earning (`customer` is the pool): the member it is recorded for.
        public var member: AccountID?
    }

    /// The purchase a refund of `receipt` decided at `node` is about. A receipt id names one
    /// purchase unless two stores' tills numbered alike while cut off (a clash: both purchases
    /// stand); then the one rung up at `node` (a store refunds its own receipts), else the
    /// earliest. Nil when no purchase counts.
    public static func purchase(of receipt: ReceiptID, decidedAt node: NodeID, from source: some FactsSource) throws -> LedgerEntry? {
        let purchases = try source.countingEntries(for: IdempotencyKey(scope: scope, id: receipt.rawValue)).filter { $0.code == code }
        return purchases.first { $0.id.origin == node } ?? purchases.first
    }

    public static func recorded(_ entry: LedgerEntry) throws(DecodingError) -> Recorded {
        let reader = try entry.details.reader()
        guard let receipt: ReceiptID = try reader.identifier(Tag.receipt), let amount = try reader.number(Tag.amount),
              let first = entry.moves.first, let customer = first.credit.customer
        else { throw .invalid("earn entry \(entry.id) lacks its receipt, amount or move") }
        guard let items = try items(in: reader) else { throw .invalid("earn entry \(entry.id): item") }
        return Recorded(receipt: receipt, amount: Fen(amount), items: items, customer: customer, earned: earned(entry),
                        green: Points(try reader.number(Tag.green) ?? 0), member: try reader.text(Tag.member).map(AccountID.init(unchecked:)))
    }

    /// The green part of what an earning credited, read alone (`recorded` decodes every line).
    public static func green(of entry: LedgerEntry) throws(DecodingError) -> Points {
        Points(try entry.details.reader().number(Tag.green) ?? 0)
    }

    /// The receipt's lines among an earning's fields (`ReceiptLines.fields`); nil when a line
    /// lacks one of its fields.
    static func items(in reader: DetailsReader) throws(DecodingError) -> [PurchaseItem]? {
        var items: [PurchaseItem] = []
        for bytes in reader.values(Tag.item) {
            let line = try EntryDetails(bytes: bytes).reader()
            guard let sku: SKU = try line.identifier(1), let category: CategoryID = try line.identifier(2), let fen = try line.number(3) else {
                return nil
            }
            items.append(PurchaseItem(sku: sku, category: category, amount: Fen(fen)))
        }
        return items
    }

    /// The points an earning credited: its regular move, and its green one when there is one.
    static func earned(_ entry: LedgerEntry) -> Points {
        guard let first = entry.moves.first else { return .zero }
        var earned = Points.zero
        for move in entry.moves where move.asset == .points && move.debit.isSystem && move.credit == first.credit { earned = earned + move.amount }
        return earned
    }

    /// The answer, read from the moves and the few tags it needs (not the receipt's lines: this
    /// runs for every purchase, on the writer's completion path).
    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        guard let credited = entry.moves.first?.credit.customer else { throw .invalid("earn entry \(entry.id) lacks its move") }
        // One pass over the details for the few fields the answer shows.
        var member: AccountID?, green: Int64 = 0, balance: Int64 = 0, campaigns: [(id: Range<Int>, points: Int64)] = []
        let bytes = entry.details.bytes
        campaigns.reserveCapacity(8)
        var reader = BinaryReader(bytes)
        while !reader.isAtEnd {
            let tag = try reader.varint(), length = try reader.length()
            switch tag {
            case CommonDetails.balanceAfter: balance = try DetailsReader.number(try reader.raw(length))
            case Tag.member: member = AccountID(unchecked: String(decoding: try reader.raw(length), as: UTF8.self))
            case Tag.green: green = try DetailsReader.number(try reader.raw(length))
            case Tag.campaign:
                // Its nested fields read where they stand: the id (1) and the points (2). The
                // closure names the entry's id alone: naming `entry` copied it per campaign.
                var id = 0..<0, points: Int64 = 0
                let entryID = entry.id
                try DetailsReader.forEachNested(in: bytes, from: reader.offset, length: length) {
                    (field: UInt64, inner: inout BinaryReader, end: Int) throws(DecodingError) in
                    switch field {
                    case 1: id = inner.offset..<end
                    case 2:
                        points = try DetailsReader.zigzag(&inner)
                        guard inner.offset == end else { throw .invalid("earn entry \(entryID): campaign points") }
                    default: break
                    }
                }
                try reader.skip(length)
                // Written into the JSON answer as they are: only an id's characters may pass.
                guard !id.isEmpty, bytes[id].allSatisfy(isIdentifierByte) else { throw .invalid("earn entry \(entry.id): campaign id") }
                campaigns.append((id, points))
            default: try reader.skip(length)  // the receipt's lines and the rest: skipped, not copied
            }
        }
        return try WriteAnswer.pointsMoved(entry, customer: member ?? credited, amountKey: "points", amount: earned(entry).value, balance: balance,
                                            replayed: replayed, lot: try LotEvents.firstTerms(of: entry), pooledTo: member == nil ? nil : credited,
                                            earning: (details: bytes, campaigns: campaigns, green: Points(green)))
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let recorded = try recorded(entry)
        var fields: [String: JSONValue] = [
            "receipt_id": .string(recorded.receipt.rawValue), "amount_fen": .integer(recorded.amount.value),
            "points": .integer(recorded.earned.value),
        ]
        let campaigns = try campaignPoints(entry)
        if !campaigns.isEmpty {
            fields["campaigns"] = .array(campaigns.map { .object(["campaign_id": .string($0.campaign.rawValue), "points": .integer($0.points.value)]) })
        }
        if recorded.green > .zero { fields["green_points"] = .integer(recorded.green.value) }
        if let reason = try entry.details.reader().text(Tag.budgetOverride) { fields["budget_override"] = .string(reason) }
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
