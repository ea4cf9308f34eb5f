import PointMeshJSON

/// A report as RFC 4180 CSV in long form: a header row, then one row per figure,
/// `section,key,field,value`, in a stable order (sections and fields by name, rows as the report
/// orders them).
/// One shape for every report, so a warehouse loads any of them into one table and pivots it.
///
/// A report's JSON is flattened: a top-level value is `section,,,value`; an object's fields are
/// `section,,field,value`; an array of objects names each row by its key fields (`store`,
/// `month`, `node_id`, `month/scope`) and gives its other fields as `section,key,field,value`.
public enum ReportCSV {
    public static let header = ["section", "key", "field", "value"]

    /// The fields naming each row of a report's array sections (joined by `/`).
    static let keys = ["by_store": ["store"], "expiry_schedule": ["month"], "freshness": ["node_id"], "rows": ["key"], "budgets": ["month", "scope"]]
    /// Fields the CSV leaves out: how this node reaches each origin, which differs between two
    /// nodes holding the same entries. The CSV keeps the newest entry held and whether the
    /// origin is behind, so two such nodes give the same bytes.
    static let omitted: [String: Set<String>] = ["freshness": ["contact", "behind_seconds", "missing_entries"]]

    /// A report's JSON (`LiabilityReport`, `ActivityReport`) as a CSV document.
    public static func document(of report: JSONValue) -> String { document(rows(of: report)) }

    /// The rows of `report`.
    static func rows(of report: JSONValue) -> [[String]] {
        guard case .object(let sections) = report else { return [] }
        var rows: [[String]] = []
        for section in sections.keys.sorted() {
            switch sections[section] ?? .null {
            case .object(let fields):
                for field in fields.keys.sorted() { rows.append([section, "", field, text(fields[field] ?? .null)]) }
            case .array(let items):
                let keyFields = keys[section] ?? ["key"]
                for case .object(let fields) in items {
                    let key = keyFields.map { fields[$0].map(text) ?? "" }.joined(separator: "/")
                    for field in fields.keys.sorted() where !keyFields.contains(field) && omitted[section]?.contains(field) != true {
                        rows.append([section, key, field, text(fields[field] ?? .null)])
                    }
                }
            case let value:
                rows.append([section, "", "", text(value)])
            }
        }
        return rows
    }

    /// `rows` under the header, each line ended by CRLF (RFC 4180).
    static func document(_ rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(quoted).joined(separator: ",") + "\r\n" }.joined()
    }

    /// A value as a CSV field's text: numbers in digits, null empty.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .bool(let flag): flag ? "true" : "false"
        case .integer(let number): String(number)
        case .number(let number): String(number)
        case .string(let string): string
        case .array, .object: value.serialized
        }
    }

    /// A field quoted when it holds a comma, a quote or a line break, quotes doubled.
    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
