import PointMeshCore
import PointMeshHTTP
import PointMeshJSON

/// One HTTP route of the node, declared once: the router serves it, the access check admits
/// by it and the API description documents it, all from this value (`LedgerAPI.endpoints`
/// lists them). `access` has no default: a route that does not say who may call it does not
/// compile.
struct Endpoint: Sendable {
    let method: String
    /// `/v1/accounts/{account_id}`: literal segments and `{name}` parameters.
    let path: String
    let access: Access
    /// The roles of node that serve it: a node of another role answers 403 `hq_only`, whatever
    /// the token (a kind's write: the kind's `originators`).
    let originators: Set<NodeRole>
    /// The OpenAPI `operationId`.
    let operationID: String
    let summary: String
    /// OpenAPI parameter objects (path and query).
    let parameters: [JSONValue]
    /// The request body's fields; nil for a route that takes no body.
    let body: [FieldSpec]?
    let answer: Answer
    /// The refusals the route's own rules give, by status; those of the HTTP edge and the
    /// disk, and the token check's 401 and 403, the description adds.
    let refusals: [(Int, [String])]
    let handler: Handler

    /// What a successful call answers.
    enum Answer: Sendable {
        /// A read: one JSON object of these fields with 200, or JSON lines when asked
        /// (`format=jsonl`, `jsonLines`).
        case read([FieldSpec], jsonLines: Bool = false)
        /// An operation: each success status with its description and fields.
        case outcomes([(status: String, description: String, fields: [FieldSpec])])
        /// A body that is not JSON fields (the metrics text, this API's description).
        case document(mediaType: String, description: String, schema: JSONValue)
    }

    /// How the node answers the route.
    enum Handler: Sendable {
        /// Computes the answer; it may block on a read, so it runs off the event loop.
        case read(@Sendable (LedgerAPI, HTTPRequest, _ parameters: [String: String]) -> HTTPResponse)
        /// A write of a kind: validated on the event loop, committed by the group-commit writer.
        case write(any EntryKindRule.Type)
    }

    init(_ method: String, _ path: String, access: Access, originators: Set<NodeRole> = NodeRole.any, operationID: String, summary: String,
         parameters: [JSONValue] = [], body: [FieldSpec]? = nil, answer: Answer, refusals: [(Int, [String])] = [], handler: Handler) {
        self.method = method
        self.path = path
        self.access = access
        self.originators = originators
        self.operationID = operationID
        self.summary = summary
        self.parameters = parameters
        self.body = body
        self.answer = answer
        self.refusals = refusals + (originators == NodeRole.any ? [] : [(403, ["hq_only"])])
        self.handler = handler
    }

    /// A read whose handler makes a JSON body or throws the contract's error.
    init(get path: String, access: Access, operationID: String, summary: String, parameters: [JSONValue] = [], answer: [FieldSpec],
         refusals: [(Int, [String])] = [], _ body: @escaping @Sendable (LedgerAPI, HTTPRequest, [String: String]) throws(APIError) -> [UInt8]) {
        self.init("GET", path, access: access, operationID: operationID, summary: summary, parameters: parameters, answer: .read(answer),
                  refusals: refusals, handler: .read { api, request, parameters in api.answer { () throws(APIError) in try body(api, request, parameters) } })
    }

    /// The write of a kind, as the kind declares it (`EntryKindRule`: method, route, access,
    /// fields, answer and refusals).
    static func write(_ kind: any EntryKindRule.Type) -> Endpoint {
        let parameters: [JSONValue] = kind.pathFields.map { field in
            .object(["name": .string(field.name), "in": .string("path"), "required": .bool(true), "description": .string(field.description),
                     "schema": APIDescription.schema(field.type, request: true)])
        }
        let refusals = [(400, APIDescription.badRequest), (409, ["idempotency_conflict"])] + APIDescription.transport
            + kind.refusals.map { ($0.status, [$0.code]) }
        let outcomes: [(status: String, description: String, fields: [FieldSpec])]
        if kind.hasOwnHandler {
            // Family membership: no body, and the answer is the family as it stands.
            outcomes = [("200", "Done (or already so, when sent again): the family's members now. Durable on this node's disk.", ResponseSchemas.family)]
        } else if kind.createdStatus == 201 {
            outcomes = [("201", "Written, durable on this node's disk, and on its way to every node.", kind.responseFields),
                        ("200", "Written before with the same body: the original result, `replayed` true.", kind.responseFields)]
        } else {
            outcomes = [("200", "Written (durable on this node's disk), or written before: then `replayed` is true.", kind.responseFields)]
        }
        return Endpoint(kind.method, kind.route, access: kind.access, originators: kind.originators, operationID: kind.name, summary: kind.summary, parameters: parameters,
                        body: kind.hasOwnHandler || kind.requestFields.isEmpty ? nil : kind.requestFields, answer: .outcomes(outcomes),
                        refusals: refusals, handler: .write(kind))
    }
}
