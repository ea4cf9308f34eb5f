import PointMeshJSON
import PointMeshCrypto

/// One kind of change to the ledger, all in one place: its request (fields, validation), the
/// facts its decision reads, the moves it decides, what it keeps in the entry's details, and how
/// its answer and history line look. Adding a kind is one new file conforming to this, listed in
/// `EntryKinds.all`, and nothing else in the core: the shared entry, the store, replication and
/// the counters are generic over moves.
public protocol EntryKindRule: Sendable {
    associatedtype Request: Hashable & Sendable
    associatedtype Facts: Sendable

    /// Its name in the API and history (`earn`).
    static var name: String { get }
    /// Its code in entries. Never reuse one.
    static var code: EntryCode { get }
    /// The namespace of its idempotency ids (`receipt`).
    static var scope: String { get }
    /// The HTTP method (`POST`, or `PUT` for a definition HQ publishes) and path of its write,
    /// and its summary for the API description.
    static var method: String { get }
    static var route: String { get }
    /// Who may make this write (the HTTP edge checks the caller's token against it).
    static var access: Access { get }
    /// The roles of node that may originate this kind's entries: a node of another role refuses
    /// the write (403 `hq_only`), whatever the token. HQ's definitions and its actions on
    /// customers declare `NodeRole.headquartersOnly` (docs/rules.md, "Who may write what").
    static var originators: Set<NodeRole> { get }
    static var summary: String { get }
    /// Its request body, field by field.
    static var requestFields: [FieldSpec] { get }
    /// Fields taken from the route's path (`{account_id}`), read like body fields.
    static var pathFields: [FieldSpec] { get }
    /// True when the HTTP edge gives the write its own handler (family membership, which reads
    /// before it writes) instead of the generic one.
    static var hasOwnHandler: Bool { get }
    /// The status of a write that created an entry: 201, or 200 where the contract says so
    /// (withdrawals, green categories, budgets).
    static var createdStatus: Int { get }
    /// Its answer's fields.
    static var responseFields: [FieldSpec] { get }
    /// Errors the rules may answer it with, `(status, code, when)`, for the API description.
    static var refusals: [(status: Int, code: String, when: String)] { get }
    /// What a store keeps folded from this kind's entries for every write to read (none by
    /// default): an entry of the kind written, received or superseded makes it fold again.
    static var folds: StoreFolds { get }
    /// The conditions on the converged history an entry of this kind stands under (none by
    /// default): a store finds the entries whose standing a new arrival may change by them.
    static var conditions: EntryConditions { get }
    /// For a kind whose entries count only while another entry counts (a late campaign credit,
    /// while its purchase's earning does): that entry, for an entry of this kind.
    static func countsOnlyWith(_ entry: LedgerEntry) -> EntryID?
    /// The link every entry of this kind that counts only with `entry` carries (nil: none do).
    static func dependentsLink(of entry: EntryID) -> String?
    /// A write of this kind means its customers are at the deciding node now (a purchase at the
    /// till), so the node asks ahead for their spending rights (false by default).
    static var customerIsHere: Bool { get }

    /// Reads a validated request (unknown fields were already refused against `requestFields`).
    static func request(from body: JSONObject) throws(RequestError) -> Request
    /// The request read straight from the body's bytes, for a kind so frequent that the general
    /// reader's cost shows (a purchase); `nil` when the body is not of the plain shape this
    /// reads, and then `request(from:)` decides. It must never accept what `request(from:)`
    /// refuses, nor read a body differently.
    static func quickRequest(from body: [UInt8]) -> Request?
    /// The client's idempotency id in the request.
    static func idempotencyID(_ request: Request) -> String
    /// Every field that changes the write's meaning, in a fixed order, for the request hash.
    static func canonicalForm(_ request: Request) -> String
    /// The hash of `canonicalForm`. A kind whose canonical form is long and frequent (a
    /// purchase's lines) hashes its bytes without making them a string first.
    static func requestHash(_ request: Request) -> RequestHash
    /// For a definition HQ may set again and again (a campaign, a reward, a budget): the link its
    /// versions declare. The idempotency key then counts the versions the node held when the
    /// request came, so setting a value back to an earlier one is a new version, not a replay
    /// of the old one.
    static func versionLink(_ request: Request) -> String?
    /// The entry that put this very request in force, if it is in force now: sending it again
    /// answers with that entry (200), whatever the versions since.
    static func current(for request: Request, from source: some FactsSource) throws -> LedgerEntry?
    /// What the decision needs, looked up in the transaction (`context.now` is the instant the
    /// decision is made at).
    static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts
    /// The moves and details of the new entry, or a refusal.
    static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision
    /// The answer to the write (and to a replay of it, with `replayed`), as JSON bytes.
    static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8]
    /// Its own fields on a history line (`receipt_id`, `amount_fen`, …).
    static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue]
}

extension EntryKindRule {
    public static var folds: StoreFolds { [] }
    public static var conditions: EntryConditions { [] }
    public static var customerIsHere: Bool { false }
    public static func countsOnlyWith(_ entry: LedgerEntry) -> EntryID? { nil }
    public static func dependentsLink(of entry: EntryID) -> String? { nil }
    public static var method: String { "POST" }
    public static var originators: Set<NodeRole> { NodeRole.any }
    public static var pathFields: [FieldSpec] { [] }
    public static var hasOwnHandler: Bool { false }
    public static var createdStatus: Int { 201 }
    public static func versionLink(_ request: Request) -> String? { nil }
    public static func quickRequest(from body: [UInt8]) -> Request? { nil }
    public static func requestHash(_ request: Request) -> RequestHash { RequestHash(canonical: canonicalForm(request)) }
    public static func current(for request: Request, from source: some FactsSource) throws -> LedgerEntry? { nil }
}

/// What a kind decided: the moves and the details of a new entry.
public struct KindDecision: Hashable, Sendable {
    public var moves: [Move]
    public var details: EntryDetails

    public init(moves: [Move], details: EntryDetails) {
        self.moves = moves
        self.details = details
    }
}

/// Folds a store keeps of a few kinds' entries between writes (`EntryKindRule.folds`), so it
/// knows which to drop when such an entry arrives without naming the kind.
public struct StoreFolds: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// HQ's catalog: campaigns, rewards, budgets, green categories (`Catalog`).
    public static let catalog = StoreFolds(rawValue: 1)
    /// The expiry policy's versions (`ExpiryPolicies`).
    public static let expiryPolicies = StoreFolds(rawValue: 2)
    /// The customers who ever joined a family with auto-pooling.
    public static let autoPooling = StoreFolds(rawValue: 4)
}

/// Conditions on the converged history under which an entry stands (`EntryKindRule.conditions`,
/// `EntryCondition`); one that does not stand moves nothing.
public struct EntryConditions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Its parties are in its family, past the cooling-off period (`FamilyCondition`).
    public static let family = EntryConditions(rawValue: 1)
    /// Its purchase, less the refunds before it, covers it (`RefundCondition`).
    public static let refund = EntryConditions(rawValue: 2)
}

/// Every kind this release knows, and what the store and replication read of their declarations.
public enum EntryKinds {
    public static let all: [any EntryKindRule.Type] = [
        Earn.self, Refund.self, Redemption.self, ExpiryPolicyKind.self, Compensation.self, ReminderAck.self, Freeze.self, Unfreeze.self,
        Deduction.self, FamilyJoin.self, FamilyLeave.self, Transfer.self, CampaignDefinition.self, CampaignWithdrawal.self,
        GreenCategory.self, RewardDefinition.self, RewardWithdrawal.self, BudgetDefinition.self, CampaignCredit.self, PointValueKind.self,
        RightsGrant.self, IssuanceGrant.self,
    ]

    /// What the store folds of each kind that declares folds, by code.
    public static let foldsByCode: [EntryCode: StoreFolds] = Dictionary(
        uniqueKeysWithValues: all.filter { !$0.folds.isEmpty }.map { ($0.code, $0.folds) })

    /// The codes of the kinds that declare `folds` containing `fold`.
    public static func codes(folding fold: StoreFolds) -> [EntryCode] { all.filter { $0.folds.contains(fold) }.map { $0.code } }

    /// The codes of the kinds whose entries stand under `condition`.
    public static func codes(conditionedOn condition: EntryConditions) -> [EntryCode] {
        all.filter { $0.conditions.contains(condition) }.map { $0.code }
    }

    /// The entry `entry` counts only with, if its kind declares one (`EntryKindRule.countsOnlyWith`).
    public static func countsOnlyWith(_ entry: LedgerEntry) -> EntryID? { kindsByCode[entry.code]?.countsOnlyWith(entry) }

    /// The links carried by the entries that count only with `entry`, over every kind that has such entries.
    public static func dependentsLinks(of entry: EntryID) -> [String] { all.compactMap { $0.dependentsLink(of: entry) } }

    private static let kindsByCode: [EntryCode: any EntryKindRule.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// Whether a node of `role` may originate entries of `code` (`EntryKindRule.originators`).
    /// A kind this release does not know is allowed: a newer release's node judged it.
    public static func mayOriginate(_ code: EntryCode, as role: NodeRole) -> Bool {
        kindsByCode[code]?.originators.contains(role) ?? true
    }

    /// The kinds written through the API (every kind but those the node writes itself).
    public static var routed: [any EntryKindRule.Type] { all.filter { !$0.route.isEmpty } }

    public static func kind(code: EntryCode) -> (any EntryKindRule.Type)? { kindsByCode[code] }

    /// The kind's name, or `unknown-<code>` for a kind a newer release wrote.
    public static func name(of code: EntryCode) -> String { kind(code: code)?.name ?? "unknown-\(code)" }
}

/// A validated write of some kind, with its idempotency key and request hash computed once by
/// the caller's thread, so the single writer spends no time hashing.
public struct PreparedWrite: Sendable {
    public let kind: any EntryKindRule.Type
    public let key: IdempotencyKey
    public let hash: RequestHash
    /// Looks up the facts and decides, given the source and context: the kind's two steps.
    private let decideWith: @Sendable (any FactsSource, RequestContext) throws -> KindDecision
    /// The entry in force for exactly this request, if any (`EntryKindRule.current`).
    private let currentWith: @Sendable (any FactsSource) throws -> LedgerEntry?

    /// `versions`: for a kind with a `versionLink`, how many versions the node holds (what the
    /// HTTP edge reads); it is part of the idempotency key.
    public init<Kind: EntryKindRule>(_ kind: Kind.Type, _ request: Kind.Request, versions: Int = 0) {
        self.kind = kind
        let id = Kind.idempotencyID(request)
        key = IdempotencyKey(scope: Kind.scope, id: Kind.versionLink(request) == nil ? id : SHA256Digest.hex(of: Array("\(id)\n\(versions)".utf8)))
        hash = Kind.requestHash(request)
        decideWith = { source, context in
            let facts = try Kind.facts(for: request, from: source, context: context)
            return try Kind.decide(request, facts: facts, context: context)
        }
        currentWith = { source in try Kind.current(for: request, from: source) }
    }

    /// `parse`, for a kind whose versions count in its key: `versions(link)` counts them.
    public static func parse<Kind: EntryKindRule>(_ kind: Kind.Type, body: [UInt8], path: [String: String],
                                                  versions: (String) throws -> Int) throws -> PreparedWrite {
        let request = try parseRequest(kind, body: body, path: path)
        return PreparedWrite(kind, request, versions: try Kind.versionLink(request).map(versions) ?? 0)
    }

    /// Validates `body` as a request of `kind`: unknown fields refused, then the kind's reader.
    public static func parse<Kind: EntryKindRule>(_ kind: Kind.Type, body: [UInt8], path: [String: String] = [:]) throws(RequestError) -> PreparedWrite {
        PreparedWrite(kind, try parseRequest(kind, body: body, path: path))
    }

    private static func parseRequest<Kind: EntryKindRule>(_ kind: Kind.Type, body: [UInt8], path: [String: String]) throws(RequestError) -> Kind.Request {
        if Kind.pathFields.isEmpty, let request = Kind.quickRequest(from: body) { return request }
        // A write whose fields are all optional (a withdrawal) may come without a body.
        let empty = !body.contains { ![0x20, 0x09, 0x0a, 0x0d].contains($0) } && !Kind.requestFields.contains(where: \.required)
        let object = empty ? JSONObject(fields: [:], path: "") : try JSONValue.object(from: body)
        try object.requireOnly(Kind.requestFields)
        guard !Kind.pathFields.isEmpty else { return try Kind.request(from: object) }
        var fields = object.fields
        for field in Kind.pathFields { fields[field.name] = path[field.name].map(JSONValue.string) }
        return try Kind.request(from: JSONObject(fields: fields, path: object.path))
    }

    func current(from source: some FactsSource) throws -> LedgerEntry? { try currentWith(source) }

    func decide(from source: some FactsSource, context: RequestContext) throws -> KindDecision {
        try decideWith(source, context)
    }
}
