/// One field of a request or response body: its name, type, limits and meaning. Requests are
/// read through these (`JSONObject`), and docs/openapi.json is generated from them, so a
/// route's validation and its description can't disagree.
public struct FieldSpec: Sendable {
    public indirect enum FieldType: Sendable {
        /// An id: 1–128 characters of `A-Z a-z 0-9 . _ : -`.
        case id
        /// A whole number from `minimum` (1 unless said) to `maximum`, written in digits.
        case positiveInteger(minimum: Int64 = 1, maximum: Int64)
        /// Any integer (responses).
        case integer
        case boolean
        /// Free text (responses).
        case text
        /// An RFC 3339 time.
        case time
        /// One of these words.
        case choice([String])
        /// Text of 1 to `maximumLength` characters, no control characters.
        case boundedText(maximumLength: Int)
        /// An array of ids, at most `maximumCount`.
        case idArray(maximumCount: Int)
        /// An array of objects with these fields.
        case array(of: [FieldSpec], maximumCount: Int)
        /// An object with these fields (responses).
        case object([FieldSpec])
        /// Text or null (responses).
        case nullableText
        /// A value of the type, or null (an answer's figure that can be missing).
        case nullable(FieldType)
        /// An object whose values are integers, keyed by free text (responses).
        case integerMap
        /// An array of text (responses).
        case textArray
    }

    public var name: String
    public var type: FieldType
    public var required: Bool
    public var description: String

    public init(_ name: String, _ type: FieldType, required: Bool = true, _ description: String) {
        self.name = name
        self.type = type
        self.required = required
        self.description = description
    }

    public static func optional(_ name: String, _ type: FieldType, _ description: String) -> FieldSpec {
        FieldSpec(name, type, required: false, description)
    }
}
