import PointMeshJSON

/// A redemption: points go from the customer (or a family pool) to the redeemed account of
/// the reward. The single decision point for spending, where spending rights between stores
/// (escrow, on the roadmap) will be consulted.
public enum Redemption: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var request: RequestID
        public var account: AccountID
        /// Points to spend; with a reward, absent (its cost) or equal to it; for a bill
        /// deduction, the most to spend.
        public var points: Points?
        public var reward: RequestID?
        public var member: AccountID?
        /// The bill a bill-deduction reward discounts, in fen.
        public var bill: Fen?

        public init(request: RequestID, account: AccountID, points: Points?, reward: RequestID? = nil, member: AccountID? = nil, bill: Fen? = nil) {
            self.request = request
            self.account = account
            self.points = points
            self.reward = reward
            self.member = member
            self.bill = bill
        }
    }

    public static let name = "redeem"
    public static let code = EntryCode(3)
    public static let scope = "redemption"
    public static let route = "/v1/redemptions"
    public static let access = Access.till
    public static let summary = "Spend points on a reward or a bill; refused when the spendable balance is short."

    enum Fields {
        static let request = FieldSpec("request_id", .id, "The client's id for this redemption; a retry with it never spends twice.")
        static let account = FieldSpec("account_id", .id, "The account to spend from (a customer, or a family pool `family:{id}`).")
        static let points = FieldSpec.optional("points", .positiveInteger(maximum: Limits.maximumPoints.value),
                                               "Points to spend. Required without reward_id; with one, absent or its cost; for a bill deduction, the most to spend.")
        static let reward = FieldSpec.optional("reward_id", .id, "The reward in the catalog redeemed: it sets the cost.")
        static let member = FieldSpec.optional("member_id", .id, "Who redeems from a family pool.")
        static let bill = FieldSpec.optional("bill_amount_fen", .positiveInteger(maximum: Limits.maximumAmount.value),
                                             "For a bill-deduction reward: the bill's amount; the discount never exceeds it.")
    }

    public static let requestFields = [Fields.request, Fields.account, Fields.points, Fields.reward, Fields.member, Fields.bill]
    public static let responseFields = [
        AnswerFields.accountID, AnswerFields.balance, AnswerFields.createdAt,
        FieldSpec("debt_delta", .integer, "Always 0 for a redemption."),
        AnswerFields.entryID, FieldSpec("points", .integer, "Points spent."), AnswerFields.replayed,
        .optional("reward_id", .id, "The reward redeemed."), .optional("fen_deducted", .integer, "For a bill deduction: the discount, in fen."),
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (409, "insufficient_points", "the account's spendable balance is short"),
        (423, "account_frozen", "the account, or the member redeeming from a pool, is frozen"),
        (400, "member_required", "a redemption from a family pool lacks member_id"),
        (403, "not_same_family", "member_id is not in the pool's family (or names another account than a customer's own)"),
        (404, "unknown_reward", "reward_id names no reward in the catalog"),
        (409, "reward_unavailable", "the reward is outside its window or withdrawn"),
        (409, "insufficient_green_points", "a green-only reward costs more green points than the account can spend"),
    ]

    enum Tag {
        static let reward: UInt64 = 7
        static let member: UInt64 = 8
        static let discount: UInt64 = 9
        /// Points spent past the rights held, under the offline allowance (the lots' deficit).
        static let overdraft: UInt64 = 10
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        let reward: RequestID? = try body.optionalIdentifier(Fields.reward)
        let points = try body.optionalPositiveInteger(Fields.points).map(Points.init)
        if reward == nil, points == nil { throw .missingField("points") }
        let bill = try body.optionalPositiveInteger(Fields.bill).map(Fen.init)
        if reward == nil, bill != nil { throw .invalidField("bill_amount_fen", "only with the reward_id of a bill deduction") }
        return Request(request: try body.identifier(Fields.request), account: try body.identifier(Fields.account), points: points, reward: reward,
                       member: try body.optionalIdentifier(Fields.member), bill: bill)
    }

    public static func idempotencyID(_ request: Request) -> String { request.request.rawValue }

    public static func canonicalForm(_ r: Request) -> String {
        "redemption\n\(r.request)\n\(r.account)\n\(r.points.map(String.init(describing:)) ?? "")\n\(r.reward?.rawValue ?? "")\n\(r.member?.rawValue ?? "")\n"
            + (r.bill.map { "bill\t\($0)\n" } ?? "")
    }

    /// The account's points and debt, and its fraud hold; for a pool, the redeeming member's
    /// family and hold.
    public struct Facts: Sendable {
        public var account: AccountFacts
        public var hold: AccountHold
        public var memberFamily: FamilyID?
        public var memberHold: AccountHold = .none
        /// The reward named, as the catalog has it.
        public var reward: Reward?
        /// The account's spending rights held here (`SpendingRights.held`).
        public var held: HeldRights?
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        var facts = Facts(account: try source.accountFacts(of: request.account, at: context.now), hold: try AccountHold.of(request.account, from: source),
                          held: try SpendingRights.held(of: request.account, from: source, context: context))
        if let member = request.member, FamilyID.owning(pool: request.account) != nil {
            facts.memberFamily = try FamilyMembership.family(of: member, from: source)
            facts.memberHold = try AccountHold.of(member, from: source)
        }
        if let reward = request.reward { facts.reward = try source.catalog().rewards[reward] }
        return facts
    }

    /// What the redemption spends, and the discount of a bill deduction, from its reward.
    static func charge(_ request: Request, reward: Reward?, at instant: Int64) throws(LedgerError) -> (points: Points, discount: Fen?) {
        guard let id = request.reward else { return (request.points ?? .zero, nil) }
        guard let reward else { throw .unknownDefinition("reward", id.rawValue) }
        guard reward.isAvailable(at: instant) else { throw .rewardUnavailable(id) }
        guard reward.kind == .billDeduction else {
            if request.bill != nil {
                throw .fieldNotApplicable(field: "bill_amount_fen", why: "reward '\(id)' is a \(reward.kind.rawValue), not a bill deduction: it takes no bill")
            }
            if let points = request.points, points != reward.points { throw .pointsMismatch(reward: id, cost: reward.points, requested: points) }
            return (reward.points, nil)
        }
        guard let bill = request.bill else { throw .missingBill(id) }
        guard let offered = request.points else { throw .missingOffer(id) }
        let (discount, charged) = reward.billDeduction(offered: offered, bill: bill)
        guard charged > .zero else { throw .pointsMismatch(reward: id, cost: reward.points, requested: offered) }
        return (charged, discount)
    }

    /// Who may spend from the account: its owner, or for a pool a member of its family now.
    static func checkMember(_ request: Request, facts: Facts) throws(LedgerError) {
        guard let family = FamilyID.owning(pool: request.account) else {
            if let member = request.member, member != request.account {
                throw .notSameFamily(member, request.account, fromFamily: nil, toFamily: nil)
            }
            return
        }
        guard let member = request.member else { throw .memberRequired(pool: request.account) }
        guard facts.memberFamily == family else { throw .notSameFamily(member, request.account, fromFamily: facts.memberFamily, toFamily: family) }
        guard !facts.memberHold.frozen else { throw .accountFrozen(member, since: facts.memberHold.since) }
    }

    /// Spends only spendable points (matured, unexpired) as they stand now; the lots taken are
    /// the soonest to expire, decided by the fold in ledger order (`LotBook`).
    public static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard !facts.hold.frozen else { throw .accountFrozen(request.account, since: facts.hold.since) }
        try checkMember(request, facts: facts)
        let (points, discount) = try charge(request, reward: facts.reward, at: context.now)
        let account = facts.account.state, greenOnly = facts.reward?.greenOnly == true
        let overdrawn = try SpendingRights.authorize(points, from: request.account, balance: account.balance,
                                                     green: greenOnly ? facts.account.summary.green : nil, held: facts.held,
                                                     overdraft: context.holdersAsked?.overdraftRoom.map { ($0, facts.account.summary.deficit) })
        var details = details(reward: request.reward, member: request.member, balanceAfter: account.balance - points)
        var writer = DetailsWriter()
        if greenOnly { LotEvents.addGreenPreference(move: 0, green: true, exclusive: true, to: &writer) }
        if overdrawn > .zero { writer.number(Tag.overdraft, overdrawn.value) }
        writer.number(Tag.discount, discount?.value)
        details = EntryDetails(bytes: details.bytes + writer.details.bytes)
        return KindDecision(moves: moves(account: request.account, points: points, reward: request.reward), details: details)
    }

    /// The move of a redemption (also used to upgrade entries of the previous release).
    public static func moves(account: AccountID, points: Points, reward: RequestID?) -> [Move] {
        [Move(debit: LedgerAccount(account), credit: .redeemed(reward: reward), amount: points)]
    }

    public static func details(reward: RequestID?, member: AccountID?, balanceAfter: Points) -> EntryDetails {
        var writer = DetailsWriter()
        writer.text(Tag.reward, reward?.rawValue)
        writer.text(Tag.member, member?.rawValue)
        writer.number(CommonDetails.balanceAfter, balanceAfter.value)
        return writer.details
    }

    /// The points a redemption overspent under the offline allowance (0 for any other entry).
    public static func overdraft(of entry: LedgerEntry) throws(DecodingError) -> Points {
        guard entry.code == code else { return .zero }
        return Points(try entry.details.reader().number(Tag.overdraft) ?? 0)
    }

    /// The account spent from and the points, from the entry's move.
    private static func spent(_ entry: LedgerEntry) throws(DecodingError) -> (account: AccountID, points: Points) {
        guard let move = entry.moves.first, let account = move.debit.customer else { throw .invalid("redemption entry \(entry.id) lacks its move") }
        return (account, move.amount)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        let spent = try spent(entry)
        let reader = try entry.details.reader()
        let reward = try reader.text(Tag.reward), discount = try reader.number(Tag.discount)
        return try WriteAnswer.pointsMoved(entry, customer: spent.account, amountKey: "points", amount: spent.points.value, replayed: replayed,
                                            reward: reward.map { (id: $0, discount: discount) })
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let reader = try entry.details.reader()
        var fields: [String: JSONValue] = ["request_id": .string(entry.idempotencyKey.id), "points": .integer(try spent(entry).points.value)]
        if let reward = try reader.text(Tag.reward) { fields["reward_id"] = .string(reward) }
        if let member = try reader.text(Tag.member) { fields["member_id"] = .string(member) }
        if let discount = try reader.number(Tag.discount) { fields["fen_deducted"] = .integer(discount) }
        if let overdraft = try reader.number(Tag.overdraft) { fields["overdraft"] = .integer(overdraft) }
        return fields
    }
}
