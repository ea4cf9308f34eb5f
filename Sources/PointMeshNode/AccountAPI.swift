import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

/// The account view and the expiry reads: policy versions and reminders.
extension LedgerAPI {
    /// Most reminders one page returns.
    static let maximumReminderPage = 1_000
    static let defaultReminderPage = 100

    func account(_ request: HTTPRequest, _ parameters: [String: String]) throws(APIError) -> [UInt8] {
        let account: AccountID = try IdentifierRules.pathParameter(parameters["account_id"], name: "account_id")
        let role = authorizer.role(of: request)
        // A look-up at the till: the customer is here, and their rights should be too. HQ's
        // and an administrator's look-ups leave them where they are.
        if settings.spendingRights, role == .clerk { rights.askAhead([account]) }
        let now = clock.now()
        let (facts, expired, expiring, policies, hold, family, holders) = try reading {
            (try $0.accountFacts(of: account, at: now), try $0.expiredPoints(of: account, at: now), try $0.expiring(of: account, at: now),
             try $0.expiryPolicies(), try AccountHold.of(account, from: $0), try FamilyMembership.family(of: account, from: $0),
             try $0.rightsByHolder(of: account, at: now))
        }
        let summary = facts.summary, debt = facts.debt
        var body: [String: JSONValue] = [
            "account_id": .string(account.rawValue), "balance": .integer(summary.spendable.value), "debt": .integer(debt.value),
            "green_balance": .integer(max(.zero, min(summary.green, summary.spendable)).value),
            "pending": .integer(summary.pending.value), "expired_total": .integer(expired.value), "overdraft": .integer(summary.deficit.value),
            "family_id": family.map { .string($0.rawValue) } ?? .null, "frozen": .bool(hold.frozen),
            "expiring": .array(expiring.map {
                .object(["points": .integer($0.points.value), "expires_at": .string(RFC3339.format(milliseconds: $0.expiresAt))])
            }),
            "policy": ExpiryPolicyKind.json(policies.inForce(at: now)),
        ]
        if hold.frozen {
            body["frozen_since"] = hold.since.map { .string(RFC3339.format(milliseconds: $0)) } ?? .null
            body["frozen_reason"] = hold.reason.map(JSONValue.string) ?? .null
            body["frozen_evidence_ref"] = hold.evidence.map(JSONValue.string) ?? .null
            body["frozen_by"] = hold.operatorName.map(JSONValue.string) ?? .null
        }
        if let maturity = summary.nextMaturity { body["pending_until"] = .string(RFC3339.format(milliseconds: maturity)) }
        if role != .clerk {
            // Who may spend the points: HQ's and an administrator's view (a node without tokens
            // lets everyone through as both).
            body["rights"] = .array(holders.sorted { $0.key < $1.key }.map {
                .object(["node_id": .string($0.key.rawValue), "points": .integer($0.value.value)])
            })
        }
        return Array(JSONValue.object(body).serialized.utf8)
    }

    func expiryPolicies() throws(APIError) -> [UInt8] {
        let policies = try reading { try $0.expiryPolicies() }
        let now = clock.now()
        return Array(JSONValue.object([
            "versions": .array(([ExpiryPolicyVersion.standard] + policies.versions).map(ExpiryPolicyKind.json)),
            "void_versions": .array(policies.voided.map(ExpiryPolicyKind.json)),
            "in_force": ExpiryPolicyKind.json(policies.inForce(at: now)),
        ]).serialized.utf8)
    }

    /// `GET /v1/reminders?within_days=N`: spendable points expiring within N days, per account
    /// and expiry instant (by account), leaving out those a channel acknowledged for the
    /// same window.
    func reminders(_ request: HTTPRequest) -> HTTPResponse {
        listing(request, key: "reminders") { () throws(APIError) in
            guard let text = request.query["within_days"] else { throw .missingField("within_days") }
            guard let days = Int64(text), ExpiryRule.daysRange.contains(days) else {
                throw .invalidField("within_days", "must be an integer from 1 to \(ExpiryRule.daysRange.upperBound)")
            }
            let now = clock.now()
            return LotListing(expiring: (now + 1)...(now + days * CivilCalendar.millisecondsPerDay), maturedBy: now, withinDays: days)
        }
    }

    /// `GET /v1/lots?expiring_from=T&expiring_to=T`: every account's lots expiring in the range,
    /// pending or not, per account and expiry instant (what a compensation by range would touch).
    func lots(_ request: HTTPRequest) -> HTTPResponse {
        listing(request, key: "lots") { () throws(APIError) in
            let from = try QueryParameters.requiredTime(request.query, "expiring_from"), to = try QueryParameters.requiredTime(request.query, "expiring_to")
            guard from <= to else { throw .invalidField("expiring_to", "must not be before expiring_from") }
            return LotListing(expiring: from...to, maturedBy: nil, withinDays: nil)
        }
    }

    /// Which lot groups a listing shows.
    struct LotListing {
        var expiring: ClosedRange<Int64>
        var maturedBy: Int64?
        var withinDays: Int64?
    }

    /// A paged listing of lot groups: `limit`, `after` (the previous page's `next_cursor`), and
    /// `format=jsonl` for one JSON object per line (the next cursor then in a `Next-Cursor` header).
    private func listing(_ request: HTTPRequest, key: String, _ selection: () throws(APIError) -> LotListing) -> HTTPResponse {
        do {
            let page = try PageQuery(request.query)
            let selected = try selection()
            let rows = try reading {
                try $0.lotGroups(expiring: selected.expiring, maturedBy: selected.maturedBy, unacknowledgedFor: selected.withinDays,
                                 after: page.cursor, limit: page.limit + 1)
            }
            let shown = rows.prefix(page.limit)
            let items: [JSONValue] = shown.map {
                var item: [String: JSONValue] = ["account_id": .string($0.account.rawValue), "points": .integer($0.points.value),
                                                 "expires_at": .string(RFC3339.format(milliseconds: $0.expiresAt))]
                if let days = selected.withinDays { item["within_days"] = .integer(days) }
                return .object(item)
            }
            let next = rows.count > page.limit ? shown.last.map { ReminderCursor(expiresAt: $0.expiresAt, account: $0.account).token } : nil
            if page.jsonLines {
                var headers = [("Content-Type", "application/x-ndjson")]
                if let next { headers.append(("Next-Cursor", next)) }
                return HTTPResponse(status: 200, headers: headers, body: Array(items.map { $0.serialized + "\n" }.joined().utf8))
            }
            var body: [String: JSONValue] = [key: .array(items)]
            if let days = selected.withinDays { body["within_days"] = .integer(days) }
            if let next { body["next_cursor"] = .string(next) }
            return .json(200, Array(JSONValue.object(body).serialized.utf8))
        } catch {
            return error.response
        }
    }

    /// Paging of a lot listing.
    struct PageQuery {
        /// A listing's `limit`: 1 to `maximumReminderPage`, `defaultReminderPage` when absent.
        static func limit(_ query: [String: String]) throws(APIError) -> Int {
            try QueryParameters.limit(query, default: LedgerAPI.defaultReminderPage, maximum: LedgerAPI.maximumReminderPage)
        }

        var limit: Int
        var cursor: ReminderCursor?
        var jsonLines: Bool

        init(_ query: [String: String]) throws(APIError) {
            limit = try Self.limit(query)
            if let token = query["after"], !token.isEmpty {
                guard let parsed = ReminderCursor(token: token) else { throw .invalidField("after", "not a cursor this API returned") }
                cursor = parsed
            }
            jsonLines = try QueryParameters.jsonLines(query)
        }
    }
}

extension Endpoint {
    static let account = Endpoint(
        get: "/v1/accounts/{account_id}", access: .lookup, operationID: "getAccount",
        summary: "Look up an account: spendable balance, debt, pending points, points expired so far, the next points to expire and the expiry policy in force; for HQ and administrators, which nodes hold its spending rights. An account never seen has balance 0. A clerk's look-up asks the holders for the account's rights ahead of a redemption.",
        parameters: [APIDescription.accountParameter], answer: ResponseSchemas.account, refusals: [(400, ["invalid_field"])]
    ) { api, request, parameters throws(APIError) in try api.account(request, parameters) }

    static let expiryPolicies = Endpoint(
        get: "/v1/policies/expiry", access: .headquarters, operationID: "listExpiryPolicies",
        summary: "Every published version of the expiry policy (the standard one first) and the one in force now.",
        answer: ResponseSchemas.policies
    ) { api, _, _ throws(APIError) in try api.expiryPolicies() }

    static let reminders = Endpoint(
        "GET", "/v1/reminders", access: .headquarters, operationID: "listReminders",
        summary: "Accounts with spendable points expiring within `within_days`, by account, then expiry instant, without those acknowledged for the same window. `format=jsonl` answers JSON lines (the next page's cursor in the `Next-Cursor` header).",
        parameters: [APIDescription.withinDaysParameter, APIDescription.reminderLimitParameter, APIDescription.afterParameter,
                     APIDescription.formatParameter],
        answer: .read(ResponseSchemas.reminders, jsonLines: true), refusals: [(400, ["invalid_field", "missing_field"])],
        handler: .read { api, request, _ in api.reminders(request) })

    static let lots = Endpoint(
        "GET", "/v1/lots", access: .headquarters, operationID: "listLots",
        summary: "Every account's lots expiring in a range, pending or not, by account, then expiry instant: what a compensation by range touches. `format=jsonl` answers JSON lines.",
        parameters: [APIDescription.timeParameter("expiring_from"), APIDescription.timeParameter("expiring_to"),
                     APIDescription.reminderLimitParameter, APIDescription.afterParameter, APIDescription.formatParameter],
        answer: .read(ResponseSchemas.lots, jsonLines: true), refusals: [(400, ["invalid_field", "missing_field"])],
        handler: .read { api, request, _ in api.lots(request) })
}
