import PointMeshJSON

/// A kind a node writes on its own, in answer to a peer, never through the API (`RightsGrant`,
/// `IssuanceGrant`): no route, no request body, and its answer is its history line.
public protocol NodeWrittenKind: EntryKindRule {}

extension NodeWrittenKind {
    public static var route: String { "" }
    public static var access: Access { .administration }
    public static var requestFields: [FieldSpec] { [] }
    public static var responseFields: [FieldSpec] { [] }
    public static var refusals: [(status: Int, code: String, when: String)] { [] }

    public static func request(from body: JSONObject) throws(RequestError) -> Request { throw .invalidJSON("written by the node only") }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        Array(JSONValue.object(try historyFields(entry).merging([
            "entry_id": .string(entry.id.description), "replayed": .bool(replayed),
            "created_at": .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)),
        ]) { $1 }).serialized.utf8)
    }
}
