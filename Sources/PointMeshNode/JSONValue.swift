import PointMeshCore

/// Any JSON value, decoded without a schema, so validation can say exactly which field has
/// the wrong type instead of failing the whole body.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int64`.
    case integer(Int64)
    /// Any other number: fractional, with an exponent, or too large for `Int64`.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses a request body that must be one JSON object.
    static func object(from body: [UInt8]) throws(APIError) -> JSONObject {
        if body.isEmpty { throw .invalidJSON("request body is empty; send a JSON object") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            guard case .invalid(let why) = error else { throw .invalidJSON("request body is not valid JSON") }
            throw .invalidJSON("request body is not valid JSON: \(why)")
        }
        guard case .object(let fields) = value else {
            throw .invalidJSON("request body must be a JSON object, not \(value.typeName)")
        }
        return JSONObject(fields: fields, path: "")
    }
}

/// A JSON object with typed, validating accessors that name the offending field in errors.
struct JSONObject {
    let fields: [String: JSONValue]
    /// Prefix for field names in messages (`items[2].`), empty at the top level.
    let path: String

    /// Refuses a field not in `known` (400 `unknown_field`, naming it): a misspelt optional
    /// field (`"itemz"`) would otherwise be dropped without a word.
    func requireOnly(_ known: Set<String>) throws(APIError) {
        guard let unknown = fields.keys.filter({ !known.contains($0) }).min() else { return }
        throw APIError(status: 400, code: "unknown_field",
                       message: "\(path)\(unknown): not a field of this request (expected: \(known.sorted().joined(separator: ", ")))")
    }

    /// An optional boolean, false when absent.
    func flag(_ name: String) throws(APIError) -> Bool {
        guard let value = value(name) else { return false }
        guard case .bool(let flag) = value else { throw .invalidField(path + name, "must be true or false, not \(value.typeName)") }
        return flag
    }

    private func value(_ name: String) -> JSONValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    func identifier<ID: PointMeshCoreIdentifier>(_ name: String, as type: ID.Type = ID.self) throws(APIError) -> ID {
        guard let id = try optionalIdentifier(name, as: type) else { throw .missingField(path + name) }
        return id
    }

    func optionalIdentifier<ID: PointMeshCoreIdentifier>(_ name: String, as type: ID.Type = ID.self) throws(APIError) -> ID? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else {
            throw .invalidField(path + name, "must be a string id, not \(value.typeName)")
        }
        do {
            return try ID(validating: text)
        } catch {
            throw .invalidField(path + name, IdentifierRules.explain(error))
        }
    }

    /// A whole number in `1...maximum`.
    func positiveInteger(_ name: String, maximum: Int64) throws(APIError) -> Int64 {
        guard let value = value(name) else { throw .missingField(path + name) }
        switch value {
        case .integer(let number):
            guard number >= 1 else { throw .invalidField(path + name, "must be at least 1, got \(number)") }
            guard number <= maximum else { throw .invalidField(path + name, "must be at most \(maximum), got \(number)") }
            return number
        case .number(let number):
            // Points and fen are counted, never measured: `1e3` or `100.0` is refused rather
            // than guessed at, since a client that sends them is computing amounts in floats.
            guard number.magnitude <= Double(maximum) else { throw .invalidField(path + name, "must be at most \(maximum)") }
            throw .invalidField(path + name, "must be an integer written in digits, without a fraction or exponent")
        default:
            throw .invalidField(path + name, "must be an integer, not \(value.typeName)")
        }
    }

    func optionalArray(_ name: String, maximumCount: Int) throws(APIError) -> [JSONObject] {
        guard let value = value(name) else { return [] }
        guard case .array(let elements) = value else { throw .invalidField(path + name, "must be an array, not \(value.typeName)") }
        guard elements.count <= maximumCount else { throw .invalidField(path + name, "at most \(maximumCount) elements") }
        var objects: [JSONObject] = []
        for (index, element) in elements.enumerated() {
            guard case .object(let fields) = element else {
                throw .invalidField("\(path)\(name)[\(index)]", "must be an object, not \(element.typeName)")
            }
            objects.append(JSONObject(fields: fields, path: "\(path)\(name)[\(index)]."))
        }
        return objects
    }
}
