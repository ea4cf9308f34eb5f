import PointMeshJSON
import PointMeshCrypto

/// Publishing a reward, or a new version of it: `PUT /v1/rewards/{reward_id}`.
public enum RewardDefinition: EntryKindRule {
    public typealias Request = Reward
    public typealias Facts = Catalog
    public static let name = "reward"
    public static let code = EntryCode(16)
    public static let folds: StoreFolds = .catalog
    public static let scope = "reward"
    public static let method = "PUT"
    public static let route = "/v1/rewards/{reward_id}"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Publish a reward in the catalog (or a new version of it): its cost, kind and active window. A redemption with its reward_id pays its cost."

    enum Fields {
        static let id = FieldSpec("reward_id", .id, "The reward.")
        static let name = FieldSpec("name", .boundedText(maximumLength: 200), "Its name.")
        static let points = FieldSpec("points", .positiveInteger(maximum: Limits.maximumPoints.value), "Its cost in points; for a bill deduction, the points one yuan of discount costs.")
        static let kind = FieldSpec("kind", .choice(Reward.Kind.allCases.map(\.rawValue)), "What it is.")
        static let partner = FieldSpec.optional("partner", .boundedText(maximumLength: 200), "The partner, for a partner reward (required then).")
        static let greenOnly = FieldSpec.optional("green_only", .boolean, "Paid with green points only.")
        static let startsAt = FieldSpec.optional("starts_at", .time, "From when it can be redeemed.")
        static let endsAt = FieldSpec.optional("ends_at", .time, "Until when it can be redeemed.")
    }

    public static let requestFields = [Fields.name, Fields.points, Fields.kind, Fields.partner, Fields.greenOnly, Fields.startsAt, Fields.endsAt]
    public static let pathFields = [Fields.id]
    public static let responseFields = CatalogAnswers.reward + [FieldSpec("entry_id", .text, "The entry that published this version."), AnswerFields.replayed]
    public static let refusals: [(status: Int, code: String, when: String)] = [(409, "reward_withdrawn", "the reward was withdrawn")]

    enum Tag {
        static let id: UInt64 = 1
        static let name: UInt64 = 2
        static let points: UInt64 = 3
        static let kind: UInt64 = 5
        static let partner: UInt64 = 6
        static let greenOnly: UInt64 = 7
        static let startsAt: UInt64 = 8
        static let endsAt: UInt64 = 9
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Reward {
        guard let kind = Reward.Kind(rawValue: try body.choice(Fields.kind)) else { throw .invalidField("kind", "unknown kind") }
        let partner = body.fields[Fields.partner.name] == nil ? nil : try body.text(Fields.partner)
        if kind == .partner, partner == nil { throw .missingField("partner") }
        let startsAt = try body.optionalTime(Fields.startsAt), endsAt = try body.optionalTime(Fields.endsAt)
        if let startsAt, let endsAt, endsAt <= startsAt { throw .invalidField("ends_at", "must be after starts_at") }
        return Reward(id: try body.identifier(Fields.id), name: try body.text(Fields.name), points: Points(try body.positiveInteger(Fields.points)),
                      kind: kind, partner: partner, greenOnly: try body.flag(Fields.greenOnly), startsAt: startsAt, endsAt: endsAt)
    }

    public static func idempotencyID(_ r: Reward) -> String { SHA256Digest.hex(of: Array(canonicalForm(r).utf8)) }

    public static func canonicalForm(_ r: Reward) -> String {
        "reward\n\(r.id)\n\(r.name)\n\(r.points)\n\(r.kind.rawValue)\n\(r.partner ?? "")\n\(r.greenOnly)\n\(r.startsAt.map(String.init) ?? "")\n\(r.endsAt.map(String.init) ?? "")\n"
    }

    public static func versionLink(_ r: Reward) -> String? { "versions:reward:\(r.id)" }

    public static func current(for r: Reward, from source: some FactsSource) throws -> LedgerEntry? {
        guard try source.catalog().rewards[r.id]?.withdrawnAt == nil else { return nil }
        return try CatalogVersions.latest(try source.linkedEntries(versionLink(r) ?? ""), matching: canonicalForm(r)) { try canonicalForm(reward($0)) }
    }

    public static func facts(for request: Reward, from source: some FactsSource, context: RequestContext) throws -> Catalog { try source.catalog() }

    public static func decide(_ request: Reward, facts: Catalog, context: RequestContext) throws(LedgerError) -> KindDecision {
        if facts.rewards[request.id]?.withdrawnAt != nil { throw .definitionWithdrawn("reward", request.id.rawValue) }
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        EntryLinks.add(versionLink(request) ?? "", to: &writer)
        writer.text(Tag.id, request.id.rawValue)
        writer.text(Tag.name, request.name)
        writer.number(Tag.points, request.points.value)
        writer.text(Tag.kind, request.kind.rawValue)
        writer.text(Tag.partner, request.partner)
        if request.greenOnly { writer.number(Tag.greenOnly, 1) }
        writer.number(Tag.startsAt, request.startsAt)
        writer.number(Tag.endsAt, request.endsAt)
        return KindDecision(moves: [], details: writer.details)
    }

    public static func reward(_ entry: LedgerEntry) throws(DecodingError) -> Reward {
        let reader = try entry.details.reader()
        guard let id: RequestID = try reader.identifier(Tag.id), let name = try reader.text(Tag.name), let points = try reader.number(Tag.points),
              let kind = try reader.text(Tag.kind).flatMap(Reward.Kind.init(rawValue:))
        else { throw .invalid("reward entry \(entry.id) is incomplete") }
        return Reward(id: id, name: name, points: Points(points), kind: kind, partner: try reader.text(Tag.partner),
                      greenOnly: try reader.number(Tag.greenOnly) == 1, startsAt: try reader.number(Tag.startsAt), endsAt: try reader.number(Tag.endsAt))
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        guard case .object(var fields) = CatalogAnswers.json(try reward(entry)) else { return [] }
        fields["entry_id"] = .string(entry.id.description)
        fields["replayed"] = .bool(replayed)
        return Array(JSONValue.object(fields).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        ["reward_id": .string(try reward(entry).id.rawValue)]
    }
}

/// Withdrawing a reward: `DELETE /v1/rewards/{reward_id}`; redemptions of it are refused from
/// then on (409 `reward_unavailable`).
public enum RewardWithdrawal: EntryKindRule {
    public typealias Request = RequestID
    public typealias Facts = Catalog
    public static let name = "reward-withdrawal"
    public static let code = EntryCode(17)
    public static let folds: StoreFolds = .catalog
    public static let scope = "reward-withdrawal"
    public static let method = "DELETE"
    public static let route = "/v1/rewards/{reward_id}"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Withdraw a reward: redemptions of it are refused from now on. No body."
    public static let requestFields: [FieldSpec] = []
    public static let pathFields = [RewardDefinition.Fields.id]
    public static let createdStatus = 200
    public static let responseFields = [
        FieldSpec("reward_id", .id, "The reward."), FieldSpec("withdrawn_at", .time, "From when it can't be redeemed."),
        FieldSpec("entry_id", .text, "The entry."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [(404, "unknown_reward", "no reward has this id")]

    public static func request(from body: JSONObject) throws(RequestError) -> RequestID { try body.identifier(RewardDefinition.Fields.id) }
    public static func idempotencyID(_ request: RequestID) -> String { request.rawValue }
    public static func canonicalForm(_ request: RequestID) -> String { "reward-withdrawal\n\(request)\n" }
    public static func facts(for request: RequestID, from source: some FactsSource, context: RequestContext) throws -> Catalog { try source.catalog() }

    public static func decide(_ request: RequestID, facts: Catalog, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard facts.rewards[request] != nil else { throw .unknownDefinition("reward", request.rawValue) }
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        return KindDecision(moves: [], details: writer.details)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        Array(JSONValue.object([
            "reward_id": .string(entry.idempotencyKey.id), "withdrawn_at": .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)),
            "entry_id": .string(entry.id.description), "replayed": .bool(replayed),
        ]).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { ["reward_id": .string(entry.idempotencyKey.id)] }
}

/// Setting a month's issuance budget, chain-wide or for one store: `PUT /v1/budgets/{month}/{scope}`.
/// The latest setting in ledger order holds.
public enum BudgetDefinition: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var month: CalendarMonth
        public var scope: BudgetScope
        public var points: Points

        public init(month: CalendarMonth, scope: BudgetScope, points: Points) {
            self.month = month
            self.scope = scope
            self.points = points
        }
    }

    /// Whether the scope is the chain or a store this node knows.
    public typealias Facts = Bool
    public static let name = "budget"
    public static let code = EntryCode(18)
    public static let folds: StoreFolds = .catalog
    public static let scope = "budget"
    public static let method = "PUT"
    public static let route = "/v1/budgets/{month}/{scope}"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Set a calendar month's issuance budget (UTC), chain-wide (`chain`) or for one store (its node id). Earnings past it are refused unless overridden with a reason."
    static let month = FieldSpec("month", .id, "The month, `YYYY-MM`.")
    static let budgetScope = FieldSpec("scope", .id, "`chain` or a store's node id.")
    static let points = FieldSpec("points", .positiveInteger(maximum: Limits.maximumPoints.value), "Points the scope may issue in the month.")
    public static let requestFields = [points]
    public static let pathFields = [month, budgetScope]
    public static let createdStatus = 200
    public static let responseFields = [
        FieldSpec("month", .text, "The month."), FieldSpec("scope", .text, "The scope."), FieldSpec("points", .integer, "The budget."),
        FieldSpec("entry_id", .text, "The entry."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (404, "unknown_node", "The scope names no store this node knows (it is not in its membership, or was retired)."),
    ]

    enum Tag {
        static let month: UInt64 = 1
        static let scope: UInt64 = 2
        static let points: UInt64 = 3
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        guard case .string(let monthText)? = body.fields[month.name], let parsed = CalendarMonth(monthText) else {
            throw .invalidField("month", "must be a month as YYYY-MM, such as 2026-12")
        }
        guard case .string(let scopeText)? = body.fields[budgetScope.name], let scope = BudgetScope(scopeText) else {
            throw .invalidField("scope", "must be `chain` (in lowercase) or a store's node id")
        }
        return Request(month: parsed, scope: scope, points: Points(try body.positiveInteger(points)))
    }

    public static func idempotencyID(_ r: Request) -> String { SHA256Digest.hex(of: Array(canonicalForm(r).utf8)) }
    public static func canonicalForm(_ r: Request) -> String { "budget\n\(r.month)\n\(r.scope)\n\(r.points)\n" }
    public static func versionLink(_ r: Request) -> String? { "versions:budget:\(r.month):\(r.scope)" }

    public static func current(for r: Request, from source: some FactsSource) throws -> LedgerEntry? {
        try CatalogVersions.latest(try source.linkedEntries(versionLink(r) ?? ""), matching: canonicalForm(r)) {
            let (month, scope, points) = try budget($0)
            return canonicalForm(Request(month: month, scope: scope, points: points))
        }
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Bool {
        guard case .store(let store) = request.scope else { return true }
        return try source.isChainNode(store)
    }

    /// A budget for a store no node knows would never apply (a typo, a retired store), and HQ
    /// would believe it limits something.
    public static func decide(_ request: Request, facts known: Bool, context: RequestContext) throws(LedgerError) -> KindDecision {
        if case .store(let store) = request.scope, !known { throw .unknownNode(store, field: "scope") }
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        EntryLinks.add(versionLink(request) ?? "", to: &writer)
        writer.text(Tag.month, request.month.description)
        writer.text(Tag.scope, request.scope.description)
        writer.number(Tag.points, request.points.value)
        return KindDecision(moves: [], details: writer.details)
    }

    public static func budget(_ entry: LedgerEntry) throws(DecodingError) -> (CalendarMonth, BudgetScope, Points) {
        let reader = try entry.details.reader()
        guard let month = try reader.text(Tag.month).flatMap(CalendarMonth.init), let scope = try reader.text(Tag.scope).flatMap(BudgetScope.init),
              let points = try reader.number(Tag.points)
        else { throw .invalid("budget entry \(entry.id) is incomplete") }
        return (month, scope, Points(points))
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        let (month, scope, points) = try budget(entry)
        return Array(JSONValue.object([
            "month": .string(month.description), "scope": .string(scope.description), "points": .integer(points.value),
            "entry_id": .string(entry.id.description), "replayed": .bool(replayed),
        ]).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let (month, scope, points) = try budget(entry)
        return ["month": .string(month.description), "scope": .string(scope.description), "points": .integer(points.value)]
    }
}

extension CatalogAnswers {
    public static let reward = [
        FieldSpec("reward_id", .id, "The reward."), FieldSpec("name", .text, "Its name."), FieldSpec("points", .integer, "Its cost (bill deduction: per yuan)."),
        FieldSpec("kind", .text, "voucher, goods, service, partner or bill_deduction."), FieldSpec("partner", .nullableText, "The partner, if any."),
        FieldSpec("green_only", .boolean, "Paid with green points only."),
        FieldSpec("starts_at", .nullableText, "From when it can be redeemed."), FieldSpec("ends_at", .nullableText, "Until when."),
        FieldSpec("withdrawn_at", .nullableText, "When it was withdrawn; null if it was not."),
    ]

    public static func json(_ r: Reward) -> JSONValue {
        func time(_ value: Int64?) -> JSONValue { value.map { .string(RFC3339.format(milliseconds: $0)) } ?? .null }
        return .object([
            "reward_id": .string(r.id.rawValue), "name": .string(r.name), "points": .integer(r.points.value), "kind": .string(r.kind.rawValue),
            "partner": r.partner.map(JSONValue.string) ?? .null, "green_only": .bool(r.greenOnly), "starts_at": time(r.startsAt),
            "ends_at": time(r.endsAt), "withdrawn_at": time(r.withdrawnAt),
        ])
    }
}
