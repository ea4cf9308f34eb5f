import PointMeshJSON

/// Freezing and unfreezing an account for documented abuse (fake receipts, points farming): a
/// frozen account keeps earning but can't redeem (423 `account_frozen`, on every node the
/// freeze has reached). Each is an entry with its evidence, reason and operator, in the
/// account's history. Whether an account is frozen is a fold of its hold entries in ledger
/// order (`AccountHold`), so every node that holds the same entries agrees.
public enum Freeze: EntryKindRule {
    public typealias Request = HoldRequest
    public typealias Facts = HoldFacts
    public static let name = "freeze"
    public static let code = EntryCode(7)
    public static let scope = "freeze"
    public static let route = "/v1/accounts/{account_id}/freeze"
    public static let access = Access.administration
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Freeze an account for documented abuse: it keeps earning but can't redeem until unfrozen. Needs evidence_ref, reason and operator."
    public static let requestFields = HoldFields.body
    public static let pathFields = [HoldFields.account]
    public static let responseFields = HoldFields.answer
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (404, "unknown_account", "no entry on this node concerns the account"), (409, "already_frozen", "the account is frozen already"),
    ]

    public static func request(from body: JSONObject) throws(RequestError) -> HoldRequest { try HoldRequest(body) }
    public static func idempotencyID(_ request: HoldRequest) -> String { request.request.rawValue }
    public static func canonicalForm(_ r: HoldRequest) -> String { "freeze\n" + r.canonical }
    public static func facts(for request: HoldRequest, from source: some FactsSource, context: RequestContext) throws -> HoldFacts {
        try HoldFacts(request.account, source)
    }

    public static func decide(_ request: HoldRequest, facts: HoldFacts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard facts.known else { throw .unknownAccount(request.account, field: "account_id") }
        guard !facts.hold.frozen else { throw .alreadyFrozen(request.account) }
        return KindDecision(moves: [], details: request.details)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] { try HoldRequest.answer(entry, replayed: replayed) }
    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { try HoldRequest.recorded(entry) }
}

/// Lifting a freeze, recorded like the freeze.
public enum Unfreeze: EntryKindRule {
    public typealias Request = HoldRequest
    public typealias Facts = HoldFacts
    public static let name = "unfreeze"
    public static let code = EntryCode(8)
    public static let scope = "unfreeze"
    public static let route = "/v1/accounts/{account_id}/unfreeze"
    public static let access = Access.administration
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Unfreeze an account. Needs evidence_ref, reason and operator."
    public static let requestFields = HoldFields.body
    public static let pathFields = [HoldFields.account]
    public static let responseFields = HoldFields.answer
    public static let refusals: [(status: Int, code: String, when: String)] = [(409, "not_frozen", "the account is not frozen")]

    public static func request(from body: JSONObject) throws(RequestError) -> HoldRequest { try HoldRequest(body) }
    public static func idempotencyID(_ request: HoldRequest) -> String { request.request.rawValue }
    public static func canonicalForm(_ r: HoldRequest) -> String { "unfreeze\n" + r.canonical }
    public static func facts(for request: HoldRequest, from source: some FactsSource, context: RequestContext) throws -> HoldFacts {
        try HoldFacts(request.account, source)
    }

    public static func decide(_ request: HoldRequest, facts: HoldFacts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard facts.hold.frozen else { throw .notFrozen(request.account) }
        return KindDecision(moves: [], details: request.details)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] { try HoldRequest.answer(entry, replayed: replayed) }
    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { try HoldRequest.recorded(entry) }
}

/// The fields every fraud action carries (contract.md): who decided it and on what evidence.
public enum HoldFields {
    static let request = FieldSpec("request_id", .id, "The action's id; sending it again answers 200 with the original result.")
    static let evidence = FieldSpec("evidence_ref", .boundedText(maximumLength: 200), "Where the evidence is (a case number, a document).")
    static let reason = FieldSpec("reason", .boundedText(maximumLength: 500), "Why, in words.")
    static let operatorName = FieldSpec("operator", .boundedText(maximumLength: 128), "The person accountable for the action.")
    public static let account = FieldSpec("account_id", .id, "The account.")
    static let body = [request, evidence, reason, operatorName]
    static let answer = [
        FieldSpec("account_id", .id, "The account."), FieldSpec("frozen", .boolean, "Whether it is frozen after this action."),
        FieldSpec("evidence_ref", .text, "As recorded."), FieldSpec("reason", .text, "As recorded."), FieldSpec("operator", .text, "As recorded."),
        AnswerFields.entryID, AnswerFields.createdAt, AnswerFields.replayed,
    ]

    enum Tag {
        static let evidence: UInt64 = 1
        static let reason: UInt64 = 2
        static let operatorName: UInt64 = 3
    }
}

/// A freeze or unfreeze as requested.
public struct HoldRequest: Hashable, Sendable {
    public var request: RequestID
    public var account: AccountID
    public var evidence: String
    public var reason: String
    public var operatorName: String

    public init(request: RequestID, account: AccountID, evidence: String, reason: String, operatorName: String) {
        self.request = request
        self.account = account
        self.evidence = evidence
        self.reason = reason
        self.operatorName = operatorName
    }

    init(_ body: JSONObject) throws(RequestError) {
        self.init(request: try body.identifier(HoldFields.request), account: try body.identifier(HoldFields.account),
                  evidence: try body.text(HoldFields.evidence), reason: try body.text(HoldFields.reason),
                  operatorName: try body.text(HoldFields.operatorName))
    }

    var canonical: String { "\(request)\n\(account)\n\(evidence)\n\(reason)\n\(operatorName)\n" }

    /// The account as subject (its history) and link (its hold state), and the audit fields.
    var details: EntryDetails {
        var writer = DetailsWriter()
        EntryLinks.add(AccountHold.link(account), to: &writer)
        LotEvents.addSubject(account, to: &writer)
        writer.text(HoldFields.Tag.evidence, evidence)
        writer.text(HoldFields.Tag.reason, reason)
        writer.text(HoldFields.Tag.operatorName, operatorName)
        return writer.details
    }

    static func recorded(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let reader = try entry.details.reader()
        return [
            "evidence_ref": .string(try reader.text(HoldFields.Tag.evidence) ?? ""), "reason": .string(try reader.text(HoldFields.Tag.reason) ?? ""),
            "operator": .string(try reader.text(HoldFields.Tag.operatorName) ?? ""), "request_id": .string(entry.idempotencyKey.id),
        ]
    }

    static func answer(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        var fields = try recorded(entry)
        fields["account_id"] = .string(LotEvents.subjects(of: entry.details).first?.rawValue ?? "")
        fields["frozen"] = .bool(entry.code == Freeze.code)
        fields["entry_id"] = .string(entry.id.description)
        fields["created_at"] = .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))
        fields["replayed"] = .bool(replayed)
        fields["request_id"] = nil
        return Array(JSONValue.object(fields).serialized.utf8)
    }
}

/// What a freeze or unfreeze decides on: whether the account is known, and its hold.
public struct HoldFacts: Sendable {
    public var known: Bool
    public var hold: AccountHold

    init(_ account: AccountID, _ source: some FactsSource) throws {
        known = try source.isKnown(account)
        hold = try AccountHold.of(account, from: source)
    }
}

/// Whether an account is frozen, since when and why: the last of its freeze and unfreeze
/// entries in ledger order decides, so nodes that hold the same entries agree whatever order
/// they arrived in.
public struct AccountHold: Hashable, Sendable {
    public var frozen = false
    public var since: Int64?
    public var reason: String?
    public var evidence: String?
    public var operatorName: String?

    public static let none = AccountHold()

    /// The link a hold entry declares, so an account's holds are found without its history.
    static func link(_ account: AccountID) -> String { "hold:\(account.rawValue)" }

    /// The hold state folded from `entries` (any order; others are ignored).
    public static func fold(_ entries: [LedgerEntry]) -> AccountHold {
        var hold = AccountHold()
        for entry in entries.sorted(by: { LotOrder($0) < LotOrder($1) }) {
            let reader = try? entry.details.reader()
            if entry.code == Freeze.code {
                hold = AccountHold(frozen: true, since: entry.timestamp.wallMilliseconds, reason: (try? reader?.text(HoldFields.Tag.reason)) ?? nil,
                                   evidence: (try? reader?.text(HoldFields.Tag.evidence)) ?? nil,
                                   operatorName: (try? reader?.text(HoldFields.Tag.operatorName)) ?? nil)
            } else if entry.code == Unfreeze.code {
                hold = AccountHold()
            }
        }
        return hold
    }

    public static func of(_ account: AccountID, from source: some FactsSource) throws -> AccountHold {
        fold(try source.linkedEntries(link(account)))
    }
}
