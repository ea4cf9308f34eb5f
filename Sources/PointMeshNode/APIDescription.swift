import PointMeshCore
import PointMeshJSON

/// docs/openapi.json, generated from the endpoints the router serves (`LedgerAPI.endpoints`:
/// each one's roles, parameters, fields, answer and refusals; a kind's from its
/// `EntryKindRule`) and the parser's limits. Served at `GET /openapi.json`; `pointmesh openapi`
/// writes it.
public enum APIDescription {
    /// The document, as pretty-printed JSON text.
    public static let json: String = document.pretty

    static var document: JSONValue {
        var operations: [String: [String: JSONValue]] = [:]
        for endpoint in LedgerAPI.endpoints {
            operations[endpoint.path, default: [:]][endpoint.method.lowercased()] = secured(operation(endpoint), access: endpoint.access)
        }
        let paths = operations.mapValues { JSONValue.object($0) }
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object([
                "title": .string("PointMesh node API"), "version": .string(PointMeshVersion.current),
                "description": .string("The HTTP API of one PointMesh node: earn, refund and redeem loyalty points, look up accounts. Money is in fen (1 yuan = 100 fen), points are integers, times are RFC 3339 in UTC. Every error is {\"error\": {\"code\", \"message\"}}. Integers are written in digits (no fraction or exponent), and a field a request does not define is refused (`unknown_field`)."),
            ]),
            "servers": .array([.object(["url": .string("http://127.0.0.1:8080")])]),
            "paths": .object(paths),
            "components": .object([
              "securitySchemes": .object(["bearerAuth": .object([
                  "type": .string("http"), "scheme": .string("bearer"),
                  "description": .string("A token from the node's --tokens-file (`pointmesh token create`). A node without a tokens file serves loopback only and needs none."),
              ])]),
              "schemas": .object([
                "Id": .object(["type": .string("string"), "minLength": .integer(1), "maxLength": .integer(Int64(maximumIdentifierLength)),
                               "pattern": .string("^[A-Za-z0-9._:-]{1,128}$")]),
                "Error": .object(["type": .string("object"), "required": .array([.string("error")]), "properties": .object([
                    "error": object([FieldSpec("code", .text, "A stable snake_case code."), FieldSpec("message", .text, "For a person.")], request: false),
                ])]),
            ])]),
        ])
    }

    // MARK: Operations

    /// Declares who may call `operation`: its security, the roles allowed (`x-roles`) and, for a
    /// route that needs a role, the 401 and 403 a node with tokens answers.
    static func secured(_ operation: JSONValue, access: Access) -> JSONValue {
        guard case .object(var fields) = operation else { return operation }
        let bearer = JSONValue.object(["bearerAuth": .array([])])
        fields["x-roles"] = .array(access.allowed.map { .string($0.rawValue) })
        switch access {
        case .open:
            // Readable without a token unless the node runs with --protect-reads.
            fields["security"] = .array([.object([:]), bearer])
        case .page:
            fields["security"] = .array([.object([:])])
        case .roles:
            fields["security"] = .array([bearer])
            if case .object(var responses)? = fields["responses"] {
                // A rule's own 401 or 403 (a transfer's `not_same_family`) stays beside these.
                responses["401"] = errorResponse(errorCodes(in: responses["401"]) + ["unauthenticated"])
                responses["403"] = errorResponse(errorCodes(in: responses["403"]) + ["forbidden"])
                fields["responses"] = .object(responses)
            }
        }
        return .object(fields)
    }

    static let badRequest = ["bad_request", "invalid_json", "invalid_field", "missing_field", "unknown_field"]
    /// What any write may meet below its rules: the HTTP edge and the disk.
    static let transport: [(Int, [String])] = [
        (408, ["request_timeout"]), (411, ["length_required"]), (413, ["body_too_large"]), (415, ["unsupported_media_type"]),
        (431, ["headers_too_large"]), (500, ["internal_error"]),
        (503, ["overloaded", "shutting_down", "storage_full", "storage_unavailable"]),
    ]

    /// An endpoint's operation object: its parameters, body, answers and refusals.
    static func operation(_ endpoint: Endpoint) -> JSONValue {
        switch endpoint.answer {
        case .read(let fields, let jsonLines):
            return read(id: endpoint.operationID, endpoint.summary, parameters: endpoint.parameters, answer: fields, refusals: endpoint.refusals,
                        jsonLines: jsonLines)
        case .outcomes(let outcomes):
            return operation(id: endpoint.operationID, endpoint.summary, parameters: endpoint.parameters, body: endpoint.body,
                             success: outcomes.map { ($0.status, $0.description, $0.fields) }, refusals: endpoint.refusals)
        case .document(let mediaType, let description, let schema):
            return .object([
                "operationId": .string(endpoint.operationID), "summary": .string(endpoint.summary),
                "responses": .object(["200": .object(["description": .string(description),
                                                      "content": .object([mediaType: .object(["schema": schema])])])]),
            ])
        }
    }

    /// `body`: nil for an operation that takes none.
    static func operation(id: String, _ summary: String, parameters: [JSONValue] = [], body: [FieldSpec]?, success: [(String, String, [FieldSpec])],
                          refusals: [(Int, [String])]) -> JSONValue {
        var responses: [String: JSONValue] = [:]
        for (status, description, fields) in success { responses[status] = response(description, object(fields, request: false)) }
        for (status, codes) in merged(refusals) { responses[String(status)] = errorResponse(codes) }
        var fields: [String: JSONValue] = ["operationId": .string(id), "summary": .string(summary), "responses": .object(responses)]
        if let body {
            fields["requestBody"] = .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": object(body, request: true)])])])
        }
        if !parameters.isEmpty { fields["parameters"] = .array(parameters) }
        return .object(fields)
    }

    /// A read. `jsonLines`: `format=jsonl` answers one JSON object per line (`application/x-ndjson`).
    static func read(id: String, _ summary: String, parameters: [JSONValue], answer: [FieldSpec], refusals: [(Int, [String])],
                     jsonLines: Bool = false) -> JSONValue {
        var ok = response("The answer.", object(answer, request: false))
        if jsonLines, case .object(var fields) = ok, case .object(var content)? = fields["content"] {
            content["application/x-ndjson"] = .object(["schema": .object(["type": .string("string")])])
            fields["content"] = .object(content)
            ok = .object(fields)
        }
        var responses: [String: JSONValue] = ["200": ok]
        for (status, codes) in merged(refusals + [(500, ["internal_error"]), (503, ["overloaded", "shutting_down"])]) {
            responses[String(status)] = errorResponse(codes)
        }
        return .object(["operationId": .string(id), "summary": .string(summary), "parameters": .array(parameters), "responses": .object(responses)])
    }

    static func response(_ description: String, _ schema: JSONValue) -> JSONValue {
        .object(["description": .string(description), "content": .object(["application/json": .object(["schema": schema])])])
    }

    static func errorResponse(_ codes: [String]) -> JSONValue {
        response("Error codes: " + codes.map { "`\($0)`" }.joined(separator: ", ") + ".", .object(["$ref": .string("#/components/schemas/Error")]))
    }

    /// The codes an `errorResponse` lists (none for nil).
    static func errorCodes(in response: JSONValue?) -> [String] {
        guard case .object(let fields)? = response, case .string(let description)? = fields["description"] else { return [] }
        return description.split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// One entry per status, its codes in the order first listed: a status named twice (the
    /// edge's 409 and a rule's) lists both sets.
    static func merged(_ refusals: [(Int, [String])]) -> [(Int, [String])] {
        var order: [Int] = [], codes: [Int: [String]] = [:]
        for (status, list) in refusals {
            if codes[status] == nil { order.append(status) }
            codes[status, default: []] += list.filter { !(codes[status] ?? []).contains($0) }
        }
        return order.map { ($0, codes[$0] ?? []) }
    }

    static let accountParameter: JSONValue = .object([
        "name": .string("account_id"), "in": .string("path"), "required": .bool(true), "schema": .object(["$ref": .string("#/components/schemas/Id")]),
    ])
    static let familyParameter: JSONValue = .object([
        "name": .string("family_id"), "in": .string("path"), "required": .bool(true),
        "schema": .object(["type": .string("string"), "minLength": .integer(1), "maxLength": .integer(Int64(FamilyID.maximumLength)),
                           "pattern": .string("^[A-Za-z0-9._:-]+$")]),
    ])
    static let withinDaysParameter: JSONValue = .object([
        "name": .string("within_days"), "in": .string("query"), "required": .bool(true),
        "schema": .object(["type": .string("integer"), "minimum": .integer(1), "maximum": .integer(ExpiryRule.daysRange.upperBound)]),
    ])
    static func timeParameter(_ name: String) -> JSONValue {
        .object(["name": .string(name), "in": .string("query"), "required": .bool(true),
                 "schema": .object(["type": .string("string"), "format": .string("date-time")])])
    }
    static let reminderLimitParameter: JSONValue = .object([
        "name": .string("limit"), "in": .string("query"), "required": .bool(false),
        "schema": .object(["type": .string("integer"), "minimum": .integer(1), "maximum": .integer(Int64(LedgerAPI.maximumReminderPage)),
                           "default": .integer(Int64(LedgerAPI.defaultReminderPage))]),
    ])
    static let afterParameter: JSONValue = .object([
        "name": .string("after"), "in": .string("query"), "required": .bool(false),
        "description": .string("The next_cursor of the previous page; empty means the first page."),
        "schema": .object(["type": .string("string"), "pattern": .string("^$|^-?[0-9]{1,18}\\.[A-Za-z0-9._:-]{1,128}$")]),
    ])
    static let formatParameter: JSONValue = .object([
        "name": .string("format"), "in": .string("query"), "required": .bool(false),
        "schema": .object(["type": .string("string"), "enum": .array([.string("json"), .string("jsonl")]), "default": .string("json")]),
    ])
    static let limitParameter: JSONValue = .object([
        "name": .string("limit"), "in": .string("query"), "required": .bool(false),
        "schema": .object(["type": .string("integer"), "minimum": .integer(1), "maximum": .integer(Int64(LedgerAPI.maximumPageSize)),
                           "default": .integer(Int64(LedgerAPI.defaultPageSize))]),
    ])
    static let beforeParameter: JSONValue = .object([
        "name": .string("before"), "in": .string("query"), "required": .bool(false),
        "description": .string("The next_cursor of the previous page; empty means the first page."),
        "schema": .object(["type": .string("string"), "pattern": .string("^$|^-?[0-9]{1,18}\\.[0-9]{1,18}\\.[0-9]{1,18}\\.[A-Za-z0-9._:-]{1,128}$")]),
    ])

    // MARK: Schemas

    /// An object schema from fields. A request object is closed (unknown fields are refused)
    /// and its optional fields may be null; an answer may gain fields.
    static func object(_ fields: [FieldSpec], request: Bool) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for field in fields {
            var schema = Self.schema(field.type, request: request)
            if request && !field.required { schema = .object(["anyOf": .array([schema, .object(["type": .string("null")])])]) }
            if case .object(var members) = schema {
                members["description"] = .string(field.description)
                schema = .object(members)
            }
            properties[field.name] = schema
        }
        var object: [String: JSONValue] = [
            "type": .string("object"), "properties": .object(properties),
            "required": .array(fields.filter(\.required).map { .string($0.name) }),
        ]
        if request { object["additionalProperties"] = .bool(false) }
        return .object(object)
    }

    static func schema(_ type: FieldSpec.FieldType, request: Bool) -> JSONValue {
        switch type {
        case .id: .object(["$ref": .string("#/components/schemas/Id")])
        case .positiveInteger(let minimum, let maximum): .object(["type": .string("integer"), "minimum": .integer(minimum), "maximum": .integer(maximum)])
        case .integer: .object(["type": .string("integer")])
        case .boolean: .object(["type": .string("boolean")])
        case .text: .object(["type": .string("string")])
        case .time: .object(["type": .string("string"), "format": .string("date-time")])
        case .choice(let words): .object(["type": .string("string"), "enum": .array(words.map { .string($0) })])
        case .boundedText(let maximumLength):
            .object(["type": .string("string"), "minLength": .integer(1), "maxLength": .integer(Int64(maximumLength)), "pattern": .string("\\S")])
        case .idArray(let maximumCount):
            .object(["type": .string("array"), "maxItems": .integer(Int64(maximumCount)), "uniqueItems": .bool(true),
                     "items": .object(["$ref": .string("#/components/schemas/Id")])])
        case .nullableText: .object(["type": .array([.string("string"), .string("null")])])
        case .nullable(let type): .object(["anyOf": .array([schema(type, request: request), .object(["type": .string("null")])])])
        case .integerMap: .object(["type": .string("object"), "additionalProperties": .object(["type": .string("integer")])])
        case .textArray: .object(["type": .string("array"), "items": .object(["type": .string("string")])])
        case .object(let fields): object(fields, request: request)
        case .array(let fields, let maximumCount):
            .object(["type": .string("array"), "maxItems": .integer(Int64(maximumCount)), "items": object(fields, request: request)])
        }
    }
}
