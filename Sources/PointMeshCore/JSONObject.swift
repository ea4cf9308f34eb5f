import PointMeshJSON

extension JSONValue {
    /// Parses a request body that must be one JSON object.
    public static func object(from body: [UInt8]) throws(RequestError) -> JSONObject {
        if body.isEmpty { throw .invalidJSON("request body is empty; send a JSON object") }
        let document: JSONDocument
        do {
            document = try JSONParser.document(body)
        } catch {
            guard case .invalid(let why) = error else { throw .invalidJSON("request body is not valid JSON") }
            throw .invalidJSON("request body is not valid JSON: \(why)")
        }
        guard document.isObject(0) else {
            throw .invalidJSON("request body must be a JSON object, not \(document.value(0).typeName)")
        }
        return JSONObject(document: document, node: 0, path: "")
    }
}

/// Why a request body was refused before it reached the rules; the HTTP edge answers 400.
public enum RequestError: Error, Equatable, Sendable {
    case invalidJSON(String)
    case missingField(String)
    case invalidField(String, String)
    /// A field the request does not define, and the fields it does.
    case unknownField(String, expected: [String])
}

/// A JSON object with typed, validating accessors that name the offending field in errors.
/// The accessors take the field's `FieldSpec`, so a request is read with the very names and
/// limits its API description is generated from.
public struct JSONObject: Sendable {
    /// The fields: a parsed request's are read in its document where they stand; an object
    /// built in code holds a dictionary.
    private enum Storage: Sendable {
        case dictionary([String: JSONValue])
        case document(JSONDocument, node: Int)
    }

    private let storage: Storage
    /// Where this object is, for messages: the array's path and the element's index when it is
    /// an array element (`items` and 2: `items[2].`), put together only when a message needs it.
    private let container: String
    private let element: Int?

    /// Prefix for field names in messages (`items[2].`), empty at the top level.
    public var path: String { element.map { "\(container)[\($0)]." } ?? container }

    /// Every field, as values (made from the document when the object was parsed).
    public var fields: [String: JSONValue] {
        switch storage {
        case .dictionary(let fields): return fields
        case .document(let document, let node):
            guard case .object(let fields) = document.value(node) else { return [:] }
            return fields
        }
    }

    public init(fields: [String: JSONValue], path: String) {
        storage = .dictionary(fields)
        container = path
        element = nil
    }

    init(document: JSONDocument, node: Int, path: String) {
        storage = .document(document, node: node)
        container = path
        element = nil
    }

    /// Element `index` of the array at `array` (a full path such as `items`).
    private init(_ storage: Storage, array: String, index: Int) {
        self.storage = storage
        container = array
        element = index
    }

    /// Refuses a field the schema does not define: a misspelt optional field (`"itemz"`) would
    /// otherwise be dropped without a word.
    public func requireOnly(_ schema: [FieldSpec]) throws(RequestError) { try requireOnly(names: schema.map(\.name)) }

    /// `requireOnly`, given the schema's field names (an array's elements share them).
    private func requireOnly(names: [String]) throws(RequestError) {
        // A request has a handful of fields: scanning beats building a set on every request.
        var unknown: String?
        func consider(_ key: String) {
            if unknown.map({ key < $0 }) ?? true { unknown = key }
        }
        switch storage {
        case .dictionary(let fields):
            for key in fields.keys where !names.contains(key) { consider(key) }
        case .document(let document, let node):
            document.forEachKey(of: node) { key in
                for name in names where document.key(key, is: name) { return }
                consider(document.string(key))
            }
        }
        guard let unknown else { return }
        throw .unknownField(path + unknown, expected: names.sorted())
    }

    private func value(_ name: String) -> JSONValue? {
        let value: JSONValue?
        switch storage {
        case .dictionary(let fields): value = fields[name]
        case .document(let document, let node): value = document.member(name, of: node).map(document.value)
        }
        guard let value, value != .null else { return nil }
        return value
    }

    public func identifier<ID: Identifier>(_ field: FieldSpec, as type: ID.Type = ID.self) throws(RequestError) -> ID {
        guard let text = try identifierText(field) else { throw .missingField(path + field.name) }
        return ID(unchecked: text)
    }

    public func optionalIdentifier<ID: Identifier>(_ field: FieldSpec, as type: ID.Type = ID.self) throws(RequestError) -> ID? {
        guard let text = try identifierText(field) else { return nil }
        return ID(unchecked: text)
    }

    /// The id in `field`, checked (nil when absent). Not generic, so the generic accessors above,
    /// which the compiler may leave unspecialized, do nothing but wrap the text: run-time
    /// lookups of the id type's metadata once cost more than reading the id.
    private func identifierText(_ field: FieldSpec) throws(RequestError) -> String? {
        if case .document(let document, let object) = storage, let node = document.member(field.name, of: object),
           let plain = document.plainText(node), let text = plainIdentifier(plain) {
            return text
        }
        guard let value = value(field.name) else { return nil }
        guard case .string(let text) = value else {
            throw .invalidField(path + field.name, "must be a string id, not \(value.typeName)")
        }
        do {
            try IdentifierError.check(text)
        } catch {
            throw .invalidField(path + field.name, IdentifierError.explain(error))
        }
        return text
    }

    /// A whole number in `minimum...maximum` (the field's limits), written in digits.
    public func positiveInteger(_ field: FieldSpec) throws(RequestError) -> Int64 {
        let name = field.name
        guard case .positiveInteger(let minimum, let maximum) = field.type else { preconditionFailure("\(name) is not an integer field") }
        if case .document(let document, let object) = storage, let node = document.member(name, of: object), let number = document.integer(node),
           (minimum...maximum).contains(number) {
            return number
        }
        guard let value = value(name) else { throw .missingField(path + name) }
        switch value {
        case .integer(let number):
            guard number >= minimum else { throw .invalidField(path + name, "must be at least \(minimum), got \(number)") }
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

    /// An optional whole number in `1...maximum` (the field's limit).
    public func optionalPositiveInteger(_ field: FieldSpec) throws(RequestError) -> Int64? {
        guard value(field.name) != nil else { return nil }
        return try positiveInteger(field)
    }

    /// A required RFC 3339 time, as milliseconds since the epoch.
    public func time(_ field: FieldSpec) throws(RequestError) -> Int64 {
        guard let time = try optionalTime(field) else { throw .missingField(path + field.name) }
        return time
    }

    public func optionalTime(_ field: FieldSpec) throws(RequestError) -> Int64? {
        guard let value = value(field.name) else { return nil }
        guard case .string(let text) = value, let time = RFC3339.parse(text), (0...EntryBounds.maximumClock).contains(time) else {
            throw .invalidField(path + field.name, "must be an RFC 3339 time such as 2026-03-01T00:00:00Z")
        }
        return time
    }

    /// One of the field's words.
    public func choice(_ field: FieldSpec) throws(RequestError) -> String {
        guard case .choice(let words) = field.type else { preconditionFailure("\(field.name) is not a choice field") }
        guard let value = value(field.name) else { throw .missingField(path + field.name) }
        guard case .string(let word) = value, words.contains(word) else {
            throw .invalidField(path + field.name, "must be one of \(words.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return word
    }

    /// Required text within the field's length, without control characters, with at least one
    /// visible character (`isVisible`): evidence, a reason or an operator's name of zero-width
    /// spaces or direction marks records nothing an auditor can read.
    public func text(_ field: FieldSpec) throws(RequestError) -> String {
        guard case .boundedText(let maximumLength) = field.type else { preconditionFailure("\(field.name) is not a text field") }
        guard let value = value(field.name) else { throw .missingField(path + field.name) }
        guard case .string(let text) = value else { throw .invalidField(path + field.name, "must be a string, not \(value.typeName)") }
        guard !text.allSatisfy(\.isWhitespace) else { throw .invalidField(path + field.name, "must not be empty") }
        guard text.unicodeScalars.contains(where: Self.isVisible) else {
            throw .invalidField(path + field.name, "must contain a visible character, not only spaces, format or invisible characters")
        }
        guard text.count <= maximumLength else { throw .invalidField(path + field.name, "must be at most \(maximumLength) characters") }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidField(path + field.name, "must not contain control characters")
        }
        return text
    }

    /// Optional text, checked as `text` when present (nil when absent or null).
    public func optionalText(_ field: FieldSpec) throws(RequestError) -> String? {
        guard let value = value(field.name), value != .null else { return nil }
        return try text(field)
    }

    /// Whether `scalar` shows as something: not whitespace, a control, a format character
    /// (zero-width space, word joiner, byte-order mark, soft hyphen, direction marks), a separator,
    /// a default-ignorable code point (Mongolian vowel separator, Hangul fillers), a combining
    /// mark on its own, or unassigned.
    static func isVisible(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        guard !properties.isWhitespace, !properties.isDefaultIgnorableCodePoint else { return false }
        switch properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .nonspacingMark, .enclosingMark:
            return false
        default:
            return true
        }
    }

    /// An optional array of distinct ids (empty when absent).
    public func identifiers<ID: Identifier>(_ field: FieldSpec, as type: ID.Type = ID.self) throws(RequestError) -> [ID] {
        guard case .idArray(let maximumCount) = field.type else { preconditionFailure("\(field.name) is not an id array") }
        guard let value = value(field.name) else { return [] }
        guard case .array(let elements) = value else { throw .invalidField(path + field.name, "must be an array of ids, not \(value.typeName)") }
        guard elements.count <= maximumCount else { throw .invalidField(path + field.name, "at most \(maximumCount) ids per request") }
        var ids: [ID] = [], seen: Set<String> = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element else { throw .invalidField("\(path)\(field.name)[\(index)]", "must be a string id") }
            do {
                ids.append(try ID(validating: text))
            } catch {
                throw .invalidField("\(path)\(field.name)[\(index)]", IdentifierError.explain(error))
            }
            guard seen.insert(text).inserted else { throw .invalidField("\(path)\(field.name)[\(index)]", "\(text) is listed twice") }
        }
        return ids
    }

    /// An optional boolean, false when absent.
    public func flag(_ field: FieldSpec) throws(RequestError) -> Bool {
        try optionalBool(field) ?? false
    }

    /// An optional boolean, nil when absent.
    public func optionalBool(_ field: FieldSpec) throws(RequestError) -> Bool? {
        guard let value = value(field.name) else { return nil }
        guard case .bool(let flag) = value else { throw .invalidField(path + field.name, "must be true or false, not \(value.typeName)") }
        return flag
    }

    /// An optional object field, checked against its schema (nil when absent).
    public func object(_ field: FieldSpec) throws(RequestError) -> JSONObject? {
        guard case .object(let schema) = field.type else { preconditionFailure("\(field.name) is not an object field") }
        let nested: JSONObject
        switch storage {
        case .document(let document, let node):
            guard let member = document.member(field.name, of: node), document.kind(member) != .null else { return nil }
            guard document.isObject(member) else {
                throw .invalidField(path + field.name, "must be an object, not \(document.value(member).typeName)")
            }
            nested = JSONObject(document: document, node: member, path: path + field.name + ".")
        case .dictionary:
            guard let value = value(field.name) else { return nil }
            guard case .object(let fields) = value else { throw .invalidField(path + field.name, "must be an object, not \(value.typeName)") }
            nested = JSONObject(fields: fields, path: path + field.name + ".")
        }
        try nested.requireOnly(schema)
        return nested
    }

    /// The objects of an optional array field, each checked against the element schema.
    public func objects(_ field: FieldSpec) throws(RequestError) -> [JSONObject] {
        guard case .array(let schema, let maximumCount) = field.type else { preconditionFailure("\(field.name) is not an array field") }
        // In a parsed document, the elements are read where they stand.
        if case .document(let document, let node) = storage, let array = document.member(field.name, of: node),
           document.kind(array) == .array {
            let elements = document.elements(of: array)
            guard elements.count <= maximumCount else { throw .invalidField(path + field.name, "at most \(maximumCount) elements") }
            var objects: [JSONObject] = []
            objects.reserveCapacity(elements.count)
            let arrayPath = path + field.name, names = schema.map(\.name)
            for (index, element) in elements.enumerated() {
                guard document.isObject(element) else {
                    throw .invalidField("\(arrayPath)[\(index)]", "must be an object, not \(document.value(element).typeName)")
                }
                let object = JSONObject(.document(document, node: element), array: arrayPath, index: index)
                try object.requireOnly(names: names)
                objects.append(object)
            }
            return objects
        }
        guard let value = value(field.name) else { return [] }
        guard case .array(let elements) = value else { throw .invalidField(path + field.name, "must be an array, not \(value.typeName)") }
        guard elements.count <= maximumCount else { throw .invalidField(path + field.name, "at most \(maximumCount) elements") }
        var objects: [JSONObject] = []
        objects.reserveCapacity(elements.count)
        let array = path + field.name
        for (index, element) in elements.enumerated() {
            guard case .object(let fields) = element else {
                throw .invalidField("\(array)[\(index)]", "must be an object, not \(element.typeName)")
            }
            let object = JSONObject(.dictionary(fields), array: array, index: index)
            try object.requireOnly(schema)
            objects.append(object)
        }
        return objects
    }
}

extension IdentifierError {
    /// The refusal in the contract's terms.
    public static func explain(_ error: IdentifierError) -> String {
        switch error {
        case .empty: "must not be empty"
        case .tooLong(let length): "must be at most \(maximumIdentifierLength) characters, got \(length)"
        case .invalidCharacter(let character):
            "may contain only A-Z a-z 0-9 . _ : - (found \(character.debugDescription))"
        }
    }
}
