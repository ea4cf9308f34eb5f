import PointMeshJSON

/// Taking points from an account for documented abuse: a debit from the account to
/// `@deducted`, from the lots that expire soonest, never more than the spendable balance, with
/// its evidence, reason and operator in the account's history. Allowed on a frozen account.
public enum Deduction: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var hold: HoldRequest
        public var points: Points

        public init(hold: HoldRequest, points: Points) {
            self.hold = hold
            self.points = points
        }
    }

    public static let name = "deduct"
    public static let code = EntryCode(9)
    public static let scope = "deduction"
    public static let route = "/v1/deductions"
    public static let access = Access.administration
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Deduct points from an account for documented abuse (soonest-expiring lots first), at most its spendable balance. Needs evidence_ref, reason and operator."

    static let points = FieldSpec("points", .positiveInteger(maximum: Limits.maximumPoints.value), "Points to deduct.")
    public static let requestFields = [HoldFields.request, HoldFields.account, points, HoldFields.evidence, HoldFields.reason, HoldFields.operatorName]
    public static let responseFields = [
        AnswerFields.accountID, AnswerFields.balance, AnswerFields.createdAt, FieldSpec("debt_delta", .integer, "Always 0 for a deduction."),
        AnswerFields.entryID, FieldSpec("points", .integer, "Points deducted."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (409, "insufficient_points", "the deduction is more than the spendable balance"),
    ]

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        Request(hold: try HoldRequest(body), points: Points(try body.positiveInteger(points)))
    }

    public static func idempotencyID(_ request: Request) -> String { request.hold.request.rawValue }
    public static func canonicalForm(_ r: Request) -> String { "deduction\n\(r.points)\n" + r.hold.canonical }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> (AccountFacts, HeldRights?) {
        (try source.accountFacts(of: request.hold.account, at: context.now), try SpendingRights.held(of: request.hold.account, from: source, context: context))
    }

    public static func decide(_ request: Request, facts: (AccountFacts, HeldRights?), context: RequestContext) throws(LedgerError) -> KindDecision {
        let balance = facts.0.summary.spendable
        try SpendingRights.authorize(request.points, from: request.hold.account, balance: balance, held: facts.1)
        var writer = DetailsWriter()
        writer.text(HoldFields.Tag.evidence, request.hold.evidence)
        writer.text(HoldFields.Tag.reason, request.hold.reason)
        writer.text(HoldFields.Tag.operatorName, request.hold.operatorName)
        writer.number(CommonDetails.balanceAfter, (balance - request.points).value)
        return KindDecision(moves: [Move(debit: LedgerAccount(request.hold.account), credit: .deducted, amount: request.points)],
                            details: writer.details)
    }

    private static func deducted(_ entry: LedgerEntry) throws(DecodingError) -> (account: AccountID, points: Points) {
        guard let move = entry.moves.first, let account = move.debit.customer else { throw .invalid("deduction entry \(entry.id) lacks its move") }
        return (account, move.amount)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        let (account, points) = try deducted(entry)
        return try WriteAnswer.pointsMoved(entry, customer: account, amountKey: "points", amount: points.value, replayed: replayed)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        var fields = try HoldRequest.recorded(entry)
        fields["points"] = .integer(try deducted(entry).points.value)
        return fields
    }
}
