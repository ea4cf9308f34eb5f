import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

/// An account's history.
extension LedgerAPI {
    /// Largest page of history one request returns.
    static let maximumPageSize = 500
    static let defaultPageSize = 50

    /// `GET /v1/accounts/{account_id}/entries`: an account's history, newest first, paged, with
    /// the lots that expired with points left shown among the entries at their expiry instant.
    func entries(_ request: HTTPRequest, _ parameters: [String: String]) throws(APIError) -> [UInt8] {
        let account: AccountID = try IdentifierRules.pathParameter(parameters["account_id"], name: "account_id")
        let limit = try QueryParameters.limit(request.query, default: Self.defaultPageSize, maximum: Self.maximumPageSize)
        var cursor: EntryCursor?
        if let token = request.query["before"], !token.isEmpty {
            guard let parsed = EntryCursor(token: token) else { throw .invalidField("before", "not a cursor this API returned") }
            cursor = parsed
        }
        let now = clock.now()
        // Expiry is not an entry (it follows from the entries and the time): each lot that
        // expired with points left shows as a line at its expiry instant, among the entries of
        // the page whose time span holds that instant.
        let (page, expiries, voids) = try reading { database in
            let page = try database.entries(of: account, before: cursor, limit: limit + 1, excluding: [RightsGrant.code])
            let newest = cursor?.timestamp.wallMilliseconds ?? .max
            let oldest = page.count > limit ? page[limit - 1].entry.timestamp.wallMilliseconds + 1 : .min
            let voids = Set(try page.filter { try !EntryCondition.stands($0.entry, in: database) }.map(\.entry.id))
            return (page, try database.expiredLots(of: account, at: now, within: oldest...newest), voids)
        }
        let shown = Array(page.prefix(limit))
        var lines = shown.map {
            (time: $0.entry.timestamp.wallMilliseconds,
             line: ResponseBodies.entry($0.entry, duplicate: $0.duplicate, void: voids.contains($0.entry.id), for: account))
        }
        lines += expiries.map { (time: $0.expiresAt, line: ResponseBodies.expiry($0, for: account)) }
        lines.sort { $0.time > $1.time }
        var body: [String: JSONValue] = [
            "account_id": .string(account.rawValue),
            "entries": .array(lines.map(\.line)),
        ]
        if page.count > limit, let last = shown.last { body["next_cursor"] = .string(EntryCursor(after: last.entry).token) }
        return Array(JSONValue.object(body).serialized.utf8)
    }
}

extension Endpoint {
    static let history = Endpoint(
        get: "/v1/accounts/{account_id}/entries", access: .lookup, operationID: "listEntries",
        summary: "An account's history, newest first, paged. Rights grants, which move no points, are not in it (the feed has them).",
        parameters: [APIDescription.accountParameter, APIDescription.limitParameter, APIDescription.beforeParameter],
        answer: ResponseSchemas.entryPage, refusals: [(400, ["invalid_field"])]
    ) { api, request, parameters throws(APIError) in try api.entries(request, parameters) }
}
