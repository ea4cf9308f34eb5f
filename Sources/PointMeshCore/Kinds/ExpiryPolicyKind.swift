import PointMeshJSON

/// Publishing a version of the expiry policy. HQ sends it; it replicates like any entry, and
/// every earning decided after it reaches a node takes its lot's expiry from the version in
/// force at that instant. A version that shortens validity needs 30 days' notice.
public enum ExpiryPolicyKind: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var version: RequestID
        public var rule: ExpiryRule
        public var effectiveAt: Int64

        public init(version: RequestID, rule: ExpiryRule, effectiveAt: Int64) {
            self.version = version
            self.rule = rule
            self.effectiveAt = effectiveAt
        }
    }

    public static let name = "expiry-policy"
    public static let code = EntryCode(4)
    public static let folds: StoreFolds = .expiryPolicies
    public static let scope = "expiry-policy"
    public static let method = "PUT"
    public static let route = "/v1/policies/expiry"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Publish a version of the expiry policy, in force from its effective instant. Lots already earned keep the expiry they were given; a version that shortens validity needs at least 30 days' notice."

    enum Fields {
        static let version = FieldSpec("version_id", .id, "The version's id; publishing it again with the same body answers 200.")
        static let rule = FieldSpec("rule", .choice(["months_end", "days"]), "`months_end`: points expire at the end of the Nth full month after the month they were earned in (UTC). `days`: N days after they were earned.")
        static let months = FieldSpec.optional("months", .positiveInteger(maximum: ExpiryRule.monthsRange.upperBound), "N for `months_end`.")
        static let days = FieldSpec.optional("days", .positiveInteger(maximum: ExpiryRule.daysRange.upperBound), "N for `days`.")
        static let effectiveAt = FieldSpec("effective_at", .time, "From when lots earned are governed by this version.")
    }

    public static let requestFields = [Fields.version, Fields.rule, Fields.months, Fields.days, Fields.effectiveAt]
    public static let responseFields = [
        FieldSpec("version_id", .id, "The version."), FieldSpec("rule", .text, "`months_end` or `days`."),
        FieldSpec("months", .integer, required: false, "N, for `months_end`."), FieldSpec("days", .integer, required: false, "N, for `days`."),
        FieldSpec("effective_at", .time, "From when it governs new lots."), FieldSpec("published_at", .time, "When it was published."),
        FieldSpec("description", .text, "The rule in words."),
        FieldSpec("entry_id", .text, "The entry that published it."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (409, "notice_too_short", "the version shortens validity and takes effect less than 30 days after publication"),
    ]

    enum Tag {
        static let rule: UInt64 = 1
        static let count: UInt64 = 2
        static let effectiveAt: UInt64 = 3
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        let version: RequestID = try body.identifier(Fields.version)
        let months = try body.optionalPositiveInteger(Fields.months), days = try body.optionalPositiveInteger(Fields.days)
        let rule: ExpiryRule
        switch try body.choice(Fields.rule) {
        case "months_end":
            guard let months else { throw .missingField("months") }
            guard days == nil else { throw .invalidField("days", "a `months_end` rule takes `months`, not `days`") }
            rule = .monthsEnd(months)
        default:
            guard let days else { throw .missingField("days") }
            guard months == nil else { throw .invalidField("months", "a `days` rule takes `days`, not `months`") }
            rule = .days(days)
        }
        return Request(version: version, rule: rule, effectiveAt: try body.time(Fields.effectiveAt))
    }

    public static func idempotencyID(_ request: Request) -> String { request.version.rawValue }

    public static func canonicalForm(_ r: Request) -> String { "expiry-policy\n\(r.version)\n\(r.rule.name)\n\(r.rule.count)\n\(r.effectiveAt)\n" }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> ExpiryPolicies {
        try source.expiryPolicies()
    }

    public static func decide(_ request: Request, facts: ExpiryPolicies, context: RequestContext) throws(LedgerError) -> KindDecision {
        let candidate = ExpiryPolicyVersion(id: request.version, rule: request.rule, effectiveAt: request.effectiveAt, publishedAt: context.now)
        if let refusal = facts.shorteningRefusal(candidate, now: context.now) {
            throw .noticeTooShort(version: request.version, shortens: refusal.shortened.id, earliest: refusal.earliest)
        }
        var writer = DetailsWriter()
        writer.text(Tag.rule, request.rule.name)
        writer.number(Tag.count, request.rule.count)
        writer.number(Tag.effectiveAt, request.effectiveAt)
        return KindDecision(moves: [], details: writer.details)
    }

    /// The version an entry published.
    public static func version(_ entry: LedgerEntry) throws(DecodingError) -> ExpiryPolicyVersion {
        let reader = try entry.details.reader()
        guard let id = try? RequestID(validating: entry.idempotencyKey.id), let name = try reader.text(Tag.rule), let count = try reader.number(Tag.count),
              let effectiveAt = try reader.number(Tag.effectiveAt)
        else { throw .invalid("expiry policy entry \(entry.id) is incomplete") }
        let rule: ExpiryRule
        switch name {
        case "months_end" where ExpiryRule.monthsRange.contains(count): rule = .monthsEnd(count)
        case "days" where ExpiryRule.daysRange.contains(count): rule = .days(count)
        default: throw .invalid("expiry policy entry \(entry.id): rule \(name) \(count)")
        }
        return ExpiryPolicyVersion(id: id, rule: rule, effectiveAt: effectiveAt, publishedAt: entry.timestamp.wallMilliseconds)
    }

    /// A version as the API shows it.
    public static func json(_ version: ExpiryPolicyVersion) -> JSONValue {
        var fields: [String: JSONValue] = [
            "version_id": .string(version.id.rawValue), "rule": .string(version.rule.name), "description": .string(version.rule.description),
            version.rule.name == "days" ? "days" : "months": .integer(version.rule.count),
        ]
        fields["effective_at"] = version.effectiveAt == .min ? .null : .string(RFC3339.format(milliseconds: version.effectiveAt))
        fields["published_at"] = version.publishedAt == .min ? .null : .string(RFC3339.format(milliseconds: version.publishedAt))
        return .object(fields)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        guard case .object(var fields) = json(try version(entry)) else { return [] }
        fields["entry_id"] = .string(entry.id.description)
        fields["replayed"] = .bool(replayed)
        return Array(JSONValue.object(fields).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        guard case .object(let fields) = json(try version(entry)) else { return [:] }
        return fields
    }
}

extension ExpiryPolicies {
    /// The versions published by the expiry policy entries among `entries` (others are passed over).
    public static func fold(_ entries: [LedgerEntry]) throws(DecodingError) -> ExpiryPolicies {
        var versions: [ExpiryPolicyVersion] = []
        for entry in entries where entry.code == ExpiryPolicyKind.code { versions.append(try ExpiryPolicyKind.version(entry)) }
        return ExpiryPolicies(versions)
    }
}
