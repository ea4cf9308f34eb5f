import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

extension LedgerAPI {
    /// `GET /v1/clashes?after=KEY&limit=N`: the ids under which different requests were
    /// acknowledged at nodes that had not seen each other (design.md, "Conflicts"), each with
    /// the entries that count under it, earliest first, in key order, paged.
    func clashes(_ request: HTTPRequest) throws(APIError) -> [UInt8] {
        let limit = try PageQuery.limit(request.query)
        let after = request.query["after"].flatMap { $0.isEmpty ? nil : $0 }
        if let after, after.utf8.count > 300 { throw .invalidField("after", "not a cursor this API returned") }
        let rows = try reading { try $0.clashes(after: after, limit: limit + 1) }
        let shown = rows.prefix(limit)
        var body: [String: JSONValue] = ["clashes": .array(shown.map { clash in
            .object([
                "key": .string(clash.key.description), "scope": .string(clash.key.scope), "id": .string(clash.key.id),
                "entries": .array(clash.entries.map { entry in
                    .object(["entry_id": .string(entry.id.description), "origin": .string(entry.id.origin.rawValue),
                             "kind": .string(EntryKinds.name(of: entry.code)),
                             "created_at": .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)),
                             "request_hash": .string(entry.requestHash.hex)])
                }),
            ])
        })]
        if rows.count > limit, let last = shown.last { body["next_cursor"] = .string(last.key.description) }
        return Array(JSONValue.object(body).serialized.utf8)
    }
}

extension Endpoint {
    static let clashes = Endpoint(
        get: "/v1/clashes", access: .headquarters, operationID: "listClashes",
        summary: "Ids under which different requests were acknowledged at nodes that had not seen each other (two tills numbering alike): each counts as a write of its own. By key, with the entries that count under it, earliest first.",
        parameters: [APIDescription.reminderLimitParameter, .object([
            "name": .string("after"), "in": .string("query"), "required": .bool(false),
            "description": .string("The next_cursor of the previous page; empty means the first page."),
            "schema": .object(["type": .string("string"), "maxLength": .integer(300)]),
        ])],
        answer: ResponseSchemas.clashes, refusals: [(400, ["invalid_field"])]
    ) { api, request, _ throws(APIError) in try api.clashes(request) }
}
