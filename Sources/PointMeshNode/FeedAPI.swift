import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

/// The change feed for a warehouse: this node's entries in the order it stored them.
extension LedgerAPI {
    static let maximumFeedPage = 5_000
    static let defaultFeedPage = 500

    /// `GET /v1/feed?after=CURSOR&limit=N&format=json|jsonl`: entries stored after the cursor
    /// (from the start without one), each with its own cursor; `next` (or the `Next-Cursor`
    /// header in JSON lines) is the cursor to continue from: the last entry's, or `after` again
    /// on an empty page. A cursor past the feed's end is refused (it was not this node's, or
    /// the node's data was replaced). Whether an entry counts (`duplicate`, `void`) is as this
    /// node knows it now.
    func feed(_ request: HTTPRequest) -> HTTPResponse {
        do throws(APIError) {
            let limit = try QueryParameters.limit(request.query, default: Self.defaultFeedPage, maximum: Self.maximumFeedPage)
            var after: Int64 = 0
            if let text = request.query["after"], !text.isEmpty {
                guard let value = Int64(text), value >= 0 else { throw .invalidField("after", "not a cursor this API returned") }
                after = value
            }
            let jsonLines = try QueryParameters.jsonLines(request.query)
            let (rows, end) = try reading { reader in
                try reader.snapshot {
                    let end = try reader.feedEnd()
                    guard after <= end else { return ([(position: Int64, entry: LedgerEntry, duplicate: Bool, void: Bool)](), end) }
                    let rows = try reader.feed(after: after, limit: limit).map { row in
                        (row.position, row.entry, row.duplicate, try !row.duplicate && !EntryCondition.stands(row.entry, in: reader))
                    }
                    return (rows, end)
                }
            }
            guard after <= end else { throw .invalidField("after", "\(after) is past the end of this node's feed (\(end)): not a cursor of this node's") }
            let items = rows.map { ResponseBodies.feedEntry($0.entry, position: $0.position, duplicate: $0.duplicate, void: $0.void) }
            let next = String(rows.last?.position ?? after)
            if jsonLines {
                let headers = [("Content-Type", "application/x-ndjson"), ("Feed-End", String(end)), ("Next-Cursor", next)]
                return HTTPResponse(status: 200, headers: headers, body: Array(items.map { $0.serialized + "\n" }.joined().utf8))
            }
            return .json(200, Array(JSONValue.object(["entries": .array(items), "next": .string(next), "end": .string(String(end))]).serialized.utf8))
        } catch {
            return error.response
        }
    }
}

extension Endpoint {
    static let feed = Endpoint(
        "GET", "/v1/feed", access: .headquarters, operationID: "readFeed",
        summary: "This node's entries in the order it stored them, for a warehouse: each with its cursor, origin, kind, time, moves, the accounts it moves and its kind's fields. Continue with `after` = the page's `next`, which stays valid across restarts; every entry comes exactly once. `duplicate` and `void` are as this node knows now. `format=jsonl` answers JSON lines (the cursor in the `Next-Cursor` header).",
        parameters: [
            .object(["name": .string("after"), "in": .string("query"), "required": .bool(false),
                     "description": .string("The cursor to continue after (a page's `next`); absent: from the start."),
                     "schema": .object(["type": .string("string")])]),
            .object(["name": .string("limit"), "in": .string("query"), "required": .bool(false),
                     "schema": .object(["type": .string("integer"), "minimum": .integer(1), "maximum": .integer(Int64(LedgerAPI.maximumFeedPage)),
                                        "default": .integer(Int64(LedgerAPI.defaultFeedPage))])]),
            APIDescription.formatParameter,
        ],
        answer: .read(ResponseSchemas.feedPage, jsonLines: true), refusals: [(400, ["invalid_field"])],
        handler: .read { api, request, _ in api.feed(request) })
}
