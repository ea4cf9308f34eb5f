import PointMeshJSON
import PointMeshCrypto

/// Publishing a campaign, or changing its name or end: `PUT /v1/campaigns/{campaign_id}`. Its
/// other terms are fixed once published (a purchase's points and late credits are computed from
/// them, so changing them would rewrite what receipts earned).
public enum CampaignDefinition: EntryKindRule {
    public typealias Request = Campaign
    public typealias Facts = Catalog
    public static let name = "campaign"
    public static let code = EntryCode(13)
    public static let folds: StoreFolds = .catalog
    public static let scope = "campaign"
    public static let method = "PUT"
    public static let route = "/v1/campaigns/{campaign_id}"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Publish a campaign (or change its name or end): a window, a scope, a filter and an effect. Purchases in its window at stores in its scope earn its points; stores that learn it late credit the receipts they rang up in the window, once."

    enum Fields {
        static let id = FieldSpec("campaign_id", .id, "The campaign.")
        static let name = FieldSpec("name", .boundedText(maximumLength: 200), "Its name, shown in answers and history.")
        static let startsAt = FieldSpec("starts_at", .time, "When it starts applying.")
        static let endsAt = FieldSpec("ends_at", .time, "When it stops (after starts_at).")
        static let stores = FieldSpec.optional("stores", .idArray(maximumCount: 1_000), "The stores (node ids) it applies at; the whole chain when absent or empty.")
        static let categories = FieldSpec.optional("categories", .idArray(maximumCount: 1_000), "The item categories it applies to; the whole receipt when absent or empty.")
        static let multiplier = FieldSpec.optional("multiplier", .positiveInteger(minimum: 2, maximum: Campaign.maximumMultiplier), "Eligible amounts earn this many times the base rate (2 to 10). Give this or bonus_points.")
        static let bonus = FieldSpec.optional("bonus_points", .positiveInteger(maximum: 1_000_000), "Points added once per eligible receipt. Give this or multiplier.")
        static let green = FieldSpec.optional("green", .boolean, "Its points are green points. Its categories, if any, must be marked green.")
        static let backdateReason = FieldSpec.optional("backdate_reason", .boundedText(maximumLength: 500),
                                                       "Why it starts before now: required then. Receipts already rung up earn it as late credits, which count against issuance budgets with this reason recorded.")
    }

    public static let requestFields = [Fields.name, Fields.startsAt, Fields.endsAt, Fields.stores, Fields.categories, Fields.multiplier, Fields.bonus, Fields.green,
                                       Fields.backdateReason]
    public static let pathFields = [Fields.id]
    public static let responseFields = CatalogAnswers.campaign + [FieldSpec("entry_id", .text, "The entry that published this version."), AnswerFields.replayed]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (400, "backdate_reason_required", "a new campaign starts before now and carries no backdate_reason"),
        (409, "campaign_terms_fixed", "the campaign exists and the request changes more than its name and end"),
        (409, "campaign_withdrawn", "the campaign was withdrawn"),
        (404, "unknown_green_category", "a green campaign lists a category that is not marked green (PUT /v1/categories/{category}/green first)"),
    ]

    enum Tag {
        static let name: UInt64 = 1
        static let startsAt: UInt64 = 2
        static let endsAt: UInt64 = 3
        static let store: UInt64 = 4
        static let category: UInt64 = 5
        static let multiplier: UInt64 = 6
        static let bonus: UInt64 = 7
        static let green: UInt64 = 8
        static let id: UInt64 = 9
        static let backdateReason: UInt64 = 10
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Campaign {
        let startsAt = try body.time(Fields.startsAt), endsAt = try body.time(Fields.endsAt)
        guard endsAt > startsAt else { throw .invalidField("ends_at", "must be after starts_at") }
        let effect: Campaign.Effect
        switch (try body.optionalPositiveInteger(Fields.multiplier), try body.optionalPositiveInteger(Fields.bonus)) {
        case (let n?, nil): effect = .multiplier(n)
        case (nil, let bonus?): effect = .bonus(Points(bonus))
        case (nil, nil): throw .missingField("multiplier")
        case (_?, _?): throw .invalidField("bonus_points", "give multiplier or bonus_points, not both")
        }
        return Campaign(id: try body.identifier(Fields.id), name: try body.text(Fields.name), startsAt: startsAt, endsAt: endsAt,
                        stores: try body.identifiers(Fields.stores), categories: try body.identifiers(Fields.categories), effect: effect,
                        green: try body.flag(Fields.green), backdateReason: try body.optionalText(Fields.backdateReason))
    }

    /// The same definition sent again is a replay; a changed one a new version (the key is a
    /// digest of the definition: the campaign id is in the details).
    public static func idempotencyID(_ c: Campaign) -> String { SHA256Digest.hex(of: Array(canonicalForm(c).utf8)) }

    public static func canonicalForm(_ c: Campaign) -> String {
        "campaign\n\(c.id)\n\(c.name)\n\(c.endsAt)\n\(c.terms)\n" + (c.backdateReason.map { "backdate\t\($0)\n" } ?? "")
    }

    public static func versionLink(_ c: Campaign) -> String? { "versions:campaign:\(c.id)" }

    public static func current(for c: Campaign, from source: some FactsSource) throws -> LedgerEntry? {
        guard try source.catalog().campaigns[c.id]?.withdrawnAt == nil else { return nil }
        return try CatalogVersions.latest(try source.linkedEntries(versionLink(c) ?? ""), matching: canonicalForm(c)) { try canonicalForm(campaign($0)) }
    }

    public static func facts(for request: Campaign, from source: some FactsSource, context: RequestContext) throws -> Catalog { try source.catalog() }

    public static func decide(_ request: Campaign, facts: Catalog, context: RequestContext) throws(LedgerError) -> KindDecision {
        if let existing = facts.campaigns[request.id] {
            guard existing.withdrawnAt == nil else { throw .definitionWithdrawn("campaign", request.id.rawValue) }
            guard existing.hasSameTerms(as: request) else { throw .campaignTermsFixed(request.id) }
        } else {
            guard request.startsAt >= context.now || request.backdateReason != nil else {
                throw .backdateReasonRequired(request.id, startsAt: request.startsAt)
            }
            // A green campaign's categories are its green list: green points are for what HQ
            // marked green, so each must be a green category this node knows. (A new version of
            // a published campaign keeps terms already accepted.)
            for (index, category) in request.categories.enumerated() where request.green && !facts.greenCategories.contains(category) {
                throw .unknownGreenCategory(category, field: "categories[\(index)]")
            }
        }
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        EntryLinks.add(versionLink(request) ?? "", to: &writer)
        writer.text(Tag.id, request.id.rawValue)
        writer.text(Tag.name, request.name)
        writer.number(Tag.startsAt, request.startsAt)
        writer.number(Tag.endsAt, request.endsAt)
        for store in request.stores { writer.text(Tag.store, store.rawValue) }
        for category in request.categories { writer.text(Tag.category, category.rawValue) }
        switch request.effect {
        case .multiplier(let n): writer.number(Tag.multiplier, n)
        case .bonus(let points): writer.number(Tag.bonus, points.value)
        }
        if request.green { writer.number(Tag.green, 1) }
        writer.text(Tag.backdateReason, request.backdateReason)
        return KindDecision(moves: [], details: writer.details)
    }

    /// The campaign an entry published.
    public static func campaign(_ entry: LedgerEntry) throws(DecodingError) -> Campaign {
        let reader = try entry.details.reader()
        guard let id: CampaignID = try reader.identifier(Tag.id), let name = try reader.text(Tag.name),
              let startsAt = try reader.number(Tag.startsAt), let endsAt = try reader.number(Tag.endsAt)
        else { throw .invalid("campaign entry \(entry.id) is incomplete") }
        let effect: Campaign.Effect
        if let n = try reader.number(Tag.multiplier) {
            effect = .multiplier(n)
        } else if let bonus = try reader.number(Tag.bonus) {
            effect = .bonus(Points(bonus))
        } else {
            throw .invalid("campaign entry \(entry.id) has no effect")
        }
        let stores = reader.values(Tag.store).compactMap { try? NodeID(validating: String(decoding: $0, as: UTF8.self)) }
        let categories = reader.values(Tag.category).compactMap { try? CategoryID(validating: String(decoding: $0, as: UTF8.self)) }
        return Campaign(id: id, name: name, startsAt: startsAt, endsAt: endsAt, stores: stores, categories: categories, effect: effect,
                        green: try reader.number(Tag.green) == 1, backdateReason: try reader.text(Tag.backdateReason))
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        var campaign = try campaign(entry)
        campaign.publishedAt = entry.timestamp.wallMilliseconds
        guard case .object(var fields) = CatalogAnswers.json(campaign) else { return [] }
        fields["entry_id"] = .string(entry.id.description)
        fields["replayed"] = .bool(replayed)
        return Array(JSONValue.object(fields).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        ["campaign_id": .string(try campaign(entry).id.rawValue)]
    }
}

/// Withdrawing a campaign: `DELETE /v1/campaigns/{campaign_id}`. It stops applying from the
/// withdrawal's instant; points already earned stay.
public enum CampaignWithdrawal: EntryKindRule {
    public typealias Request = CampaignID
    public typealias Facts = Catalog
    public static let name = "campaign-withdrawal"
    public static let code = EntryCode(14)
    public static let folds: StoreFolds = .catalog
    public static let scope = "campaign-withdrawal"
    public static let method = "DELETE"
    public static let route = "/v1/campaigns/{campaign_id}"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Withdraw a campaign: it applies to no purchase from now on; points already earned stay. No body."
    public static let requestFields: [FieldSpec] = []
    public static let pathFields = [CampaignDefinition.Fields.id]
    public static let createdStatus = 200
    public static let responseFields = [
        FieldSpec("campaign_id", .id, "The campaign."), FieldSpec("withdrawn_at", .time, "From when it applies no more."),
        FieldSpec("entry_id", .text, "The entry."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [(404, "unknown_campaign", "no campaign has this id")]

    public static func request(from body: JSONObject) throws(RequestError) -> CampaignID { try body.identifier(CampaignDefinition.Fields.id) }
    public static func idempotencyID(_ request: CampaignID) -> String { request.rawValue }
    public static func canonicalForm(_ request: CampaignID) -> String { "campaign-withdrawal\n\(request)\n" }
    public static func facts(for request: CampaignID, from source: some FactsSource, context: RequestContext) throws -> Catalog { try source.catalog() }

    public static func decide(_ request: CampaignID, facts: Catalog, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard facts.campaigns[request] != nil else { throw .unknownDefinition("campaign", request.rawValue) }
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        return KindDecision(moves: [], details: writer.details)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        Array(JSONValue.object([
            "campaign_id": .string(entry.idempotencyKey.id), "withdrawn_at": .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)),
            "entry_id": .string(entry.id.description), "replayed": .bool(replayed),
        ]).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        ["campaign_id": .string(entry.idempotencyKey.id)]
    }
}

/// Marking a category green: `PUT /v1/categories/{category}/green`, no body. Purchases of it
/// from then on earn green points.
public enum GreenCategory: EntryKindRule {
    public typealias Request = CategoryID
    public typealias Facts = Void
    public static let name = "green-category"
    public static let code = EntryCode(15)
    public static let folds: StoreFolds = .catalog
    public static let scope = "green-category"
    public static let method = "PUT"
    public static let route = "/v1/categories/{category}/green"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Mark a product category green: its purchases earn green points from now on. No body."
    static let category = FieldSpec("category", .id, "The category.")
    public static let requestFields: [FieldSpec] = []
    public static let pathFields = [category]
    public static let createdStatus = 200
    public static let responseFields = [
        FieldSpec("category", .id, "The category."), FieldSpec("green", .boolean, "Always true."),
        FieldSpec("entry_id", .text, "The entry that marked it."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = []

    public static func request(from body: JSONObject) throws(RequestError) -> CategoryID { try body.identifier(category) }
    public static func idempotencyID(_ request: CategoryID) -> String { request.rawValue }
    public static func canonicalForm(_ request: CategoryID) -> String { "green-category\n\(request)\n" }
    public static func facts(for request: CategoryID, from source: some FactsSource, context: RequestContext) throws {}

    public static func decide(_ request: CategoryID, facts: Void, context: RequestContext) throws(LedgerError) -> KindDecision {
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        return KindDecision(moves: [], details: writer.details)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        Array(JSONValue.object([
            "category": .string(entry.idempotencyKey.id), "green": .bool(true), "entry_id": .string(entry.id.description), "replayed": .bool(replayed),
        ]).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { ["category": .string(entry.idempotencyKey.id)] }
}

/// The versions of one definition (a campaign, a reward, a budget), as its entries hold them.
enum CatalogVersions {
    /// The latest of `versions` in ledger order, if its definition is `canonical`.
    static func latest(_ versions: [LedgerEntry], matching canonical: String, form: (LedgerEntry) throws -> String) throws -> LedgerEntry? {
        guard let latest = versions.max(by: { LotOrder($0) < LotOrder($1) }), try form(latest) == canonical else { return nil }
        return latest
    }
}

/// How catalog definitions look in answers.
public enum CatalogAnswers {
    public static let campaign = [
        FieldSpec("campaign_id", .id, "The campaign."), FieldSpec("name", .text, "Its name."),
        FieldSpec("starts_at", .time, "Start."), FieldSpec("ends_at", .time, "End."),
        FieldSpec("stores", .textArray, "Stores it applies at; empty: the whole chain."),
        FieldSpec("categories", .textArray, "Categories it applies to; empty: the whole receipt."),
        .optional("multiplier", .integer, "Its multiplier."), .optional("bonus_points", .integer, "Its bonus per receipt."),
        FieldSpec("green", .boolean, "Whether its points are green."),
        FieldSpec("published_at", .time, "When it was first published."),
        FieldSpec("withdrawn_at", .nullableText, "When it was withdrawn; null if it was not."),
        FieldSpec("backdate_reason", .nullableText, "Why it starts before its publication; null if it does not."),
    ]

    public static func json(_ c: Campaign) -> JSONValue {
        var fields: [String: JSONValue] = [
            "campaign_id": .string(c.id.rawValue), "name": .string(c.name),
            "starts_at": .string(RFC3339.format(milliseconds: c.startsAt)), "ends_at": .string(RFC3339.format(milliseconds: c.endsAt)),
            "stores": .array(c.stores.map { .string($0.rawValue) }), "categories": .array(c.categories.map { .string($0.rawValue) }),
            "green": .bool(c.green), "published_at": .string(RFC3339.format(milliseconds: c.publishedAt)),
            "withdrawn_at": c.withdrawnAt.map { .string(RFC3339.format(milliseconds: $0)) } ?? .null,
            "backdate_reason": c.backdateReason.map { .string($0) } ?? .null,
        ]
        switch c.effect {
        case .multiplier(let n): fields["multiplier"] = .integer(n)
        case .bonus(let points): fields["bonus_points"] = .integer(points.value)
        }
        return .object(fields)
    }
}
