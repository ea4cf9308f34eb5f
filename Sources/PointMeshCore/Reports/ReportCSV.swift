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
    /// nodes holding the same entries. The CSV keeps, for each origin whose entries it holds,
    /// the newest one and whether the origin is behind, so two nodes holding the same entries
    /// and reaching the same stores give the same bytes.
    static let omitted: [String: Set<String>] = ["freshness": ["contact", "behind_seconds", "missing_entries"]]

    /// A report's JSON (`LiabilityReport`, `ActivityReport`) as a CSV document.
    public static func document(of report: JSONValue) -> String { CSVTable.text(header: header, rows: rows(of: report)) }

    /// The rows of `report`.
    static func rows(of report: JSONValue) -> [[String]] {
        guard case .object(let sections) = report else { return [] }
        var rows: [[String]] = []
        for section in sections.keys.sorted() {
            switch sections[section] ?? .null {
            case .object(let fields):
                for field in fields.keys.sorted() { rows.append([section, "", field, CSVTable.field(fields[field] ?? .null)]) }
            case .array(let items):
                let keyFields = keys[section] ?? ["key"]
                for case .object(let fields) in items where section != "freshness" || fields["newest_entry_at"] != .null {
                    let key = keyFields.map { fields[$0].map(CSVTable.field) ?? "" }.joined(separator: "/")
                    for field in fields.keys.sorted() where !keyFields.contains(field) && omitted[section]?.contains(field) != true {
                        rows.append([section, key, field, CSVTable.field(fields[field] ?? .null)])
                    }
                }
            case let value:
                rows.append([section, "", "", CSVTable.field(value)])
            }
        }
        return rows
    }
}
