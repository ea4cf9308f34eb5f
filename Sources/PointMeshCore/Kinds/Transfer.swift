import PointMeshJSON

/// A transfer of points inside one family: member to member (a gift), member to pool, pool to
/// member. The points keep their expiry dates: the sender's spendable lots go soonest-expiring
/// first, one move per expiry instant, and each move credits the receiver a lot expiring at
/// that instant (`LotEvents` `moved` and `terms`). The entry declares its family, so it
/// stands only if the converged history agrees both sides were in it (`FamilyCondition`).
public enum Transfer: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var request: RequestID
        public var from: AccountID
        public var to: AccountID
        public var points: Points

        public init(request: RequestID, from: AccountID, to: AccountID, points: Points) {
            self.request = request
            self.from = from
            self.to = to
            self.points = points
        }
    }

    public static let name = "transfer"
    public static let code = EntryCode(12)
    public static let scope = "transfer"
    public static let conditions: EntryConditions = .family
    public static let route = "/v1/transfers"
    public static let access = Access.till
    public static let summary = "Move points between two accounts of one family (member, member or pool); they keep their expiry dates."

    /// Most expiry instants one transfer carries (one move each): the entry stays small.
    public static let maximumMoves = 200

    enum Fields {
        static let request = FieldSpec("request_id", .id, "The client's id for this transfer; a retry with it never moves twice.")
        static let from = FieldSpec("from_account", .id, "The sender: a member, or the family's pool `family:{id}`.")
        static let to = FieldSpec("to_account", .id, "The receiver, in the sender's family.")
        static let points = FieldSpec("points", .positiveInteger(maximum: Limits.maximumPoints.value), "Points to move.")
    }

    public static let requestFields = [Fields.request, Fields.from, Fields.to, Fields.points]
    public static let responseFields = [
        FieldSpec("entry_id", .text, "The entry's id."), FieldSpec("from_account", .id, "The sender."), FieldSpec("to_account", .id, "The receiver."),
        FieldSpec("points", .integer, "Points moved."), FieldSpec("from_balance", .integer, "The sender's spendable balance just after, at this node."),
        FieldSpec("to_balance", .integer, "The receiver's spendable balance just after, at this node (points received repay its debt first)."),
        FieldSpec("family_id", .id, "The family it moved inside."), AnswerFields.createdAt, AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (400, "same_account", "from_account and to_account are the same"),
        (403, "not_same_family", "the two accounts are not in one family"),
        (403, "cooling_off", "one of them joined the family less than the node's cooling-off period ago (`--transfer-cooling-off-days`)"),
        (409, "insufficient_points", "the sender's spendable balance is short"),
        (409, "too_many_lots", "the points span more than \(maximumMoves) expiry dates: send them in smaller transfers"),
        (423, "account_frozen", "the sender is frozen"),
    ]

    enum Tag {
        static let toBalanceAfter: UInt64 = 5
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        Request(request: try body.identifier(Fields.request), from: try body.identifier(Fields.from), to: try body.identifier(Fields.to),
                points: Points(try body.positiveInteger(Fields.points)))
    }

    public static func idempotencyID(_ request: Request) -> String { request.request.rawValue }
    public static func canonicalForm(_ r: Request) -> String { "transfer\n\(r.request)\n\(r.from)\n\(r.to)\n\(r.points)\n" }

    /// Both sides' memberships, the sender's lots and hold, and the receiver's points.
    public struct Facts: Sendable {
        public var from: FamilyMembership.State
        public var to: FamilyMembership.State
        public var hold: AccountHold
        public var book: LotBook
        public var receiver: AccountFacts
        /// The sender's spending rights held here (`SpendingRights.held`).
        public var held: HeldRights?
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        Facts(from: try FamilyMembership.state(of: request.from, from: source), to: try FamilyMembership.state(of: request.to, from: source),
              hold: try AccountHold.of(request.from, from: source), book: try source.lotBook(of: request.from),
              receiver: try source.accountFacts(of: request.to, at: context.now), held: try SpendingRights.held(of: request.from, from: source, context: context))
    }

    public static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard request.from != request.to else { throw .sameAccount(request.from) }
        guard let family = facts.from.family, facts.to.family == family else {
            throw .notSameFamily(request.from, request.to, fromFamily: facts.from.family, toFamily: facts.to.family)
        }
        let now = context.now, coolingOff = context.settings.transferCoolingOff
        for (account, membership) in [(request.from, facts.from), (request.to, facts.to)] {
            if let from = membership.transfersStand(after: coolingOff), from > now { throw .coolingOff(account, family: family, until: from) }
        }
        guard !facts.hold.frozen else { throw .accountFrozen(request.from, since: facts.hold.since) }
        let balance = facts.book.summary(at: now, expiringLimit: 0).spendable
        try SpendingRights.authorize(request.points, from: request.from, balance: balance, held: facts.held)
        // One move per (expiry instant, green or not), in spending order: the receiver gets lots
        // of the same dates and the same green part.
        var groups: [(expiresAt: Int64, green: Bool, points: Points, policy: RequestID)] = []
        var left = request.points
        for lot in facts.book.lots where left > .zero && lot.isSpendable(at: now) && (facts.held == nil || lot.holder == context.node) {
            let taken = min(left, lot.remaining)
            left -= taken
            if let index = groups.lastIndex(where: { $0.expiresAt == lot.expiresAt && $0.green == lot.green }) {
                groups[index].points += taken
            } else {
                groups.append((lot.expiresAt, lot.green, taken, lot.policy))
            }
        }
        guard groups.count <= maximumMoves else { throw .tooManyLots(request.from, dates: groups.count, limit: maximumMoves) }
        var writer = DetailsWriter()
        LotEvents.addFamily(family, coolingOff: coolingOff, to: &writer)
        var moves: [Move] = []
        for group in groups {
            LotEvents.add(LotEvents.Terms(move: moves.count, maturesAt: now, expiresAt: group.expiresAt, policy: group.policy, green: group.green),
                          to: &writer)
            LotEvents.addMoved(move: moves.count, expiresAt: group.expiresAt, green: group.green, to: &writer)
            moves.append(Move(debit: LedgerAccount(request.from), credit: LedgerAccount(request.to), amount: group.points))
        }
        // Points received repay the receiver's debt first; if the converged history voids the
        // transfer, the repayment goes with it (`EntryCondition`).
        let repaid = min(request.points, facts.receiver.debt)
        let repayment = DebtRepayment.moves(of: LedgerAccount(request.to), repaying: repaid, store: context.node)
        writer.number(CommonDetails.balanceAfter, (balance - request.points).value)
        writer.number(Tag.toBalanceAfter, (facts.receiver.summary.spendable + request.points - repaid).value)
        return KindDecision(moves: moves + repayment, details: writer.details)
    }

    /// Sender, receiver and points, from the entry's moves between them (not the receiver's
    /// debt repayment after them).
    private static func parties(_ entry: LedgerEntry) throws(DecodingError) -> (from: AccountID, to: AccountID, points: Points) {
        guard let first = entry.moves.first, let from = first.debit.customer, let to = first.credit.customer else {
            throw .invalid("transfer entry \(entry.id) lacks its moves")
        }
        return (from, to, entry.moves.filter { $0.debit == first.debit && $0.credit == first.credit }.reduce(.zero) { $0 + $1.amount })
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        let (from, to, points) = try parties(entry)
        let reader = try entry.details.reader()
        var answer = JSONWriter(capacity: 320)
        answer.beginObject()
        answer.field("created_at", RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))
        answer.field("entry_id", entry.id.description)
        answer.field("family_id", try LotEvents.family(of: entry)?.rawValue ?? "")
        answer.field("from_account", from.rawValue)
        answer.field("from_balance", try reader.number(CommonDetails.balanceAfter) ?? 0)
        answer.field("points", points.value)
        answer.field("replayed", replayed)
        answer.field("to_account", to.rawValue)
        answer.field("to_balance", try reader.number(Tag.toBalanceAfter) ?? 0)
        answer.endObject()
        return answer.finished()
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let (from, to, points) = try parties(entry)
        return ["request_id": .string(entry.idempotencyKey.id), "from_account": .string(from.rawValue), "to_account": .string(to.rawValue),
                "points": .integer(points.value), "family_id": .string(try LotEvents.family(of: entry)?.rawValue ?? "")]
    }
}
