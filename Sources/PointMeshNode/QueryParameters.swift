import PointMeshCore

/// The query parameters the reads share, each read one way with one refusal: `limit`,
/// `format=json|jsonl`, and times.
enum QueryParameters {
    /// `limit`: 1 to `maximum`, `defaultValue` when absent.
    static func limit(_ query: [String: String], default defaultValue: Int, maximum: Int) throws(APIError) -> Int {
        guard let text = query["limit"] else { return defaultValue }
        guard let value = Int(text), (1...maximum).contains(value) else { throw .invalidField("limit", "must be an integer from 1 to \(maximum)") }
        return value
    }

    /// `format`: `json` (the default) or `jsonl`; true for JSON lines.
    static func jsonLines(_ query: [String: String]) throws(APIError) -> Bool {
        switch query["format"] ?? "json" {
        case "json": false
        case "jsonl": true
        default: throw .invalidField("format", "must be json or jsonl")
        }
    }

    /// The RFC 3339 time in `name`, nil when absent.
    static func time(_ query: [String: String], _ name: String) throws(APIError) -> Int64? {
        guard let text = query[name] else { return nil }
        guard let time = RFC3339.parse(text) else { throw .invalidField(name, "must be an RFC 3339 time such as 2026-03-01T00:00:00Z") }
        return time
    }

    /// The RFC 3339 time in `name`, which must be there.
    static func requiredTime(_ query: [String: String], _ name: String) throws(APIError) -> Int64 {
        guard let time = try time(query, name) else { throw .missingField(name) }
        return time
    }
}
