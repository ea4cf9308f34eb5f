import PointMeshJSON

/// Joining a family: `PUT /v1/families/{family_id}/members/{account_id}`, no body. A customer
/// is in at most one family; joining the family it is in changes nothing (200, no entry), so a
/// retried PUT never writes twice.
public enum FamilyJoin: EntryKindRule {
    public typealias Request = MembershipRequest
    public typealias Facts = MembershipFacts
    public static let name = "family-join"
    public static let code = EntryCode(10)
    public static let folds: StoreFolds = .autoPooling
    public static let scope = "family-join"
    public static let method = "PUT"
    public static let route = "/v1/families/{family_id}/members/{account_id}"
    public static let access = Access.till
    public static let summary = "Put a customer into a family (created by its first member). No body needed; `auto_pool` sends the member's earnings to the pool (sent again for a member, it changes only that). Answers the family's members."
    public static let requestFields = [MembershipRequest.autoPoolField]
    public static let pathFields = MembershipRequest.pathFields
    public static let responseFields = MembershipRequest.answer
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (400, "pool_cannot_be_member", "the account is a family pool"),
        (409, "already_in_family", "the customer belongs to another family"),
    ]
    public static let hasOwnHandler = true

    public static func request(from body: JSONObject) throws(RequestError) -> MembershipRequest { try MembershipRequest(body) }
    public static func idempotencyID(_ request: MembershipRequest) -> String { request.keyID }
    public static func versionLink(_ request: MembershipRequest) -> String? { FamilyMembership.memberLink(request.account) }
    public static func canonicalForm(_ r: MembershipRequest) -> String { "family-join\n" + r.canonical }
    public static func facts(for request: MembershipRequest, from source: some FactsSource, context: RequestContext) throws -> MembershipFacts {
        try MembershipFacts(request, source)
    }

    public static func decide(_ request: MembershipRequest, facts: MembershipFacts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard FamilyID.owning(pool: request.account) == nil else { throw .poolCannotBeMember(request.account) }
        switch facts.family {
        case request.family?:
            guard let autoPool = request.autoPool, autoPool != facts.autoPool else { throw .membershipUnchanged }
            return KindDecision(moves: [], details: request.details)
        case let other?: throw .alreadyInFamily(request.account, family: other)
        case nil: return KindDecision(moves: [], details: request.details)
        }
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] { try MembershipRequest.answer(entry, replayed: replayed) }
    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { try MembershipRequest.recorded(entry) }
}

/// Leaving a family: `DELETE /v1/families/{family_id}/members/{account_id}`, no body. Leaving a
/// family the customer just left changes nothing (200, no entry).
public enum FamilyLeave: EntryKindRule {
    public typealias Request = MembershipRequest
    public typealias Facts = MembershipFacts
    public static let name = "family-leave"
    public static let code = EntryCode(11)
    public static let scope = "family-leave"
    public static let method = "DELETE"
    public static let route = "/v1/families/{family_id}/members/{account_id}"
    public static let access = Access.till
    public static let summary = "Take a customer out of its family. No body. Answers the family's remaining members."
    public static let requestFields: [FieldSpec] = []
    public static let pathFields = MembershipRequest.pathFields
    public static let responseFields = MembershipRequest.answer
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (404, "unknown_family", "no customer ever joined the family"),
        (404, "not_a_member", "the customer is not in the family"),
    ]
    public static let hasOwnHandler = true

    public static func request(from body: JSONObject) throws(RequestError) -> MembershipRequest { try MembershipRequest(body) }
    public static func idempotencyID(_ request: MembershipRequest) -> String { request.keyID }
    public static func versionLink(_ request: MembershipRequest) -> String? { FamilyMembership.memberLink(request.account) }
    public static func canonicalForm(_ r: MembershipRequest) -> String { "family-leave\n" + r.canonical }
    public static func facts(for request: MembershipRequest, from source: some FactsSource, context: RequestContext) throws -> MembershipFacts {
        try MembershipFacts(request, source)
    }

    public static func decide(_ request: MembershipRequest, facts: MembershipFacts, context: RequestContext) throws(LedgerError) -> KindDecision {
        if facts.family == request.family { return KindDecision(moves: [], details: request.details) }
        if facts.lastChange == .leave(request.family) { throw .membershipUnchanged }
        guard facts.familyKnown else { throw .unknownFamily(request.family) }
        throw .notAMember(request.account, family: request.family)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] { try MembershipRequest.answer(entry, replayed: replayed) }
    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { try MembershipRequest.recorded(entry) }
}

/// A join or leave, as the path names it. Its idempotency key is the family, the customer and
/// how many membership entries of the customer the node held when the request came
/// (`versionLink`, counted at the HTTP edge like a definition's versions): the same join sent
/// twice (to one node, or to two that hold the same history) is one entry, while a join after a
/// leave is a new one.
public struct MembershipRequest: Hashable, Sendable {
    public var family: FamilyID
    public var account: AccountID
    /// For a join: whether the member's earnings go to the pool (nil: as it is, off for a new member).
    public var autoPool: Bool?

    public init(family: FamilyID, account: AccountID, autoPool: Bool? = nil) {
        self.family = family
        self.account = account
        self.autoPool = autoPool
    }

    public static let autoPoolField = FieldSpec.optional(
        "auto_pool", .boolean, "True: the member's earnings are credited to the family pool, recorded as theirs (false to stop). Off when not sent.")

    static let familyField = FieldSpec("family_id", .id, "The family (at most \(FamilyID.maximumLength) characters; its pool is `family:{family_id}`).")
    static let accountField = FieldSpec("account_id", .id, "The customer.")
    static let pathFields = [familyField, accountField]
    static let answer = [
        FieldSpec("family_id", .id, "The family."), FieldSpec("members", .textArray, "Its members now, in id order."),
        FieldSpec("pool_balance", .integer, "The pool's spendable points."),
    ]

    enum Tag {
        static let family: UInt64 = 1
        static let autoPool: UInt64 = 2
    }

    init(_ body: JSONObject) throws(RequestError) {
        let family: FamilyID = try body.identifier(Self.familyField)
        try FamilyID.checkPoolFits(family)
        self.init(family: family, account: try body.identifier(Self.accountField), autoPool: try body.optionalBool(Self.autoPoolField))
    }

    var canonical: String { "\(family)\n\(account)\n\(autoPool.map(String.init) ?? "")\n" }
    var keyID: String { "\(family)\n\(account)" }

    /// The customer as subject (history) and member link, the family link, and the family.
    var details: EntryDetails {
        var writer = DetailsWriter()
        EntryLinks.add(FamilyMembership.memberLink(account), to: &writer)
        EntryLinks.add(FamilyMembership.familyLink(family), to: &writer)
        LotEvents.addSubject(account, to: &writer)
        writer.text(Tag.family, family.rawValue)
        if let autoPool { writer.number(Tag.autoPool, autoPool ? 1 : 0) }
        return writer.details
    }

    static func recorded(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let reader = try entry.details.reader()
        var fields: [String: JSONValue] = ["family_id": .string(try reader.text(Tag.family) ?? "")]
        if let autoPool = try reader.number(Tag.autoPool) { fields["auto_pool"] = .bool(autoPool == 1) }
        return fields
    }

    /// What the entry alone says (the HTTP edge answers with the family's members instead).
    static func answer(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        var fields = try recorded(entry)
        fields["account_id"] = .string(LotEvents.subjects(of: entry.details).first?.rawValue ?? "")
        fields["entry_id"] = .string(entry.id.description)
        fields["replayed"] = .bool(replayed)
        return Array(JSONValue.object(fields).serialized.utf8)
    }
}

/// What a join or leave decides on: the customer's family now, its last effective change, and
/// whether the family was ever joined.
public struct MembershipFacts: Sendable {
    public var family: FamilyID?
    public var autoPool: Bool
    public var lastChange: FamilyMembership.Change?
    public var familyKnown: Bool

    init(_ request: MembershipRequest, _ source: some FactsSource) throws {
        let state = FamilyMembership.state(from: try source.linkedEntries(FamilyMembership.memberLink(request.account)))
        family = state.family
        autoPool = state.autoPool
        lastChange = state.since.flatMap(FamilyMembership.change(of:))
        familyKnown = !(try source.linkedEntries(FamilyMembership.familyLink(request.family))).isEmpty
    }
}
