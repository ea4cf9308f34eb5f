import PointMeshCore
import PointMeshHTTP
import PointMeshStore

/// The account view and the expiry reads: policy versions and reminders.
extension LedgerAPI {
    /// Most reminders one page returns.
    static let maximumReminderPage = 1_000
    static let defaultReminderPage = 100

    func account(_ parameters: [String: String]) throws(APIError) -> [UInt8] {
        let account: AccountID = try IdentifierRules.pathParameter(parameters["account_id"], name: "account_id")
        let now = clock.now()
        let (facts, policies) = try reading { (try $0.accountFacts(of: account), try $0.expiryPolicies()) }
        let summary = facts.book.summary(at: now)
        var body: [String: JSONValue] = [
            "account_id": .string(account.rawValue), "balance": .integer(summary.spendable.value), "debt": .integer(facts.debt.value),
            "pending": .integer(summary.pending.value), "expired_total": .integer(summary.expired.value),
            "family_id": .null, "frozen": .bool(false),
            "expiring": .array(summary.expiring.map {
                .object(["points": .integer($0.points.value), "expires_at": .string(RFC3339.format(milliseconds: $0.expiresAt))])
            }),
            "policy": ExpiryPolicyKind.json(policies.inForce(at: now)),
        ]
        if let next = facts.book.lots.filter({ $0.isPending(at: now) }).map(\.maturesAt).min() {
            body["pending_until"] = .string(RFC3339.format(milliseconds: next))
        }
        return Array(JSONValue.object(body).serialized.utf8)
    }

    func expiryPolicies() throws(APIError) -> [UInt8] {
        let policies = try reading { try $0.expiryPolicies() }
        let now = clock.now()
        return Array(JSONValue.object([
            "versions": .array(([ExpiryPolicyVersion.standard] + policies.versions).map(ExpiryPolicyKind.json)),
            "in_force": ExpiryPolicyKind.json(policies.inForce(at: now)),
        ]).serialized.utf8)
    }

    /// `GET /v1/reminders?within_days=N`: spendable points expiring within N days, per account
    /// and expiry instant, soonest first, leaving out those a channel acknowledged for the
    /// same window. `format=jsonl` answers one JSON object per line for a bulk channel.
    func reminders(_ request: HTTPRequest) -> HTTPResponse {
        do {
            let query = try ReminderQuery(request.query)
            let now = clock.now()
            let rows = try reading {
                try $0.reminders(expiringAfter: now, through: now + query.withinDays * CivilCalendar.millisecondsPerDay, withinDays: query.withinDays,
                                 after: query.cursor, limit: query.limit + 1)
            }
            let shown = rows.prefix(query.limit)
            let items: [JSONValue] = shown.map {
                .object(["account_id": .string($0.account.rawValue), "points": .integer($0.points.value),
                         "expires_at": .string(RFC3339.format(milliseconds: $0.expiresAt)), "within_days": .integer(query.withinDays)])
            }
            let next = rows.count > query.limit ? shown.last.map { ReminderCursor(expiresAt: $0.expiresAt, account: $0.account).token } : nil
            if query.jsonLines {
                var headers = [("Content-Type", "application/x-ndjson")]
                if let next { headers.append(("Next-Cursor", next)) }
                return HTTPResponse(status: 200, headers: headers, body: Array(items.map { $0.serialized + "\n" }.joined().utf8))
            }
            var body: [String: JSONValue] = ["reminders": .array(items), "within_days": .integer(query.withinDays)]
            if let next { body["next_cursor"] = .string(next) }
            return .json(200, Array(JSONValue.object(body).serialized.utf8))
        } catch {
            return error.response
        }
    }

    /// The query of `GET /v1/reminders`.
    struct ReminderQuery {
        var withinDays: Int64
        var limit: Int
        var cursor: ReminderCursor?
        var jsonLines: Bool

        init(_ query: [String: String]) throws(APIError) {
            guard let text = query["within_days"] else { throw .missingField("within_days") }
            guard let days = Int64(text), ExpiryRule.daysRange.contains(days) else {
                throw .invalidField("within_days", "must be an integer from 1 to \(ExpiryRule.daysRange.upperBound)")
            }
            withinDays = days
            limit = LedgerAPI.defaultReminderPage
            if let text = query["limit"] {
                guard let value = Int(text), (1...LedgerAPI.maximumReminderPage).contains(value) else {
                    throw .invalidField("limit", "must be an integer from 1 to \(LedgerAPI.maximumReminderPage)")
                }
                limit = value
            }
            if let token = query["after"], !token.isEmpty {
                guard let parsed = ReminderCursor(token: token) else { throw .invalidField("after", "not a cursor this API returned") }
                cursor = parsed
            }
            switch query["format"] ?? "json" {
            case "json": jsonLines = false
            case "jsonl": jsonLines = true
            default: throw .invalidField("format", "must be json or jsonl")
            }
        }
    }
}
