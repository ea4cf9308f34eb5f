import PointMeshJSON

/// RFC 4180 CSV: a header row, then the rows, each line ended by CRLF; a field quoted when it
/// holds a comma, a quote or a line break, its quotes doubled.
public enum CSVTable {
    public static func text(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(quoted).joined(separator: ",") + "\r\n" }.joined()
    }

    /// A JSON value as a field's text: numbers in digits, null empty, text as is, arrays and
    /// objects as JSON.
    public static func field(_ value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .bool(let flag): flag ? "true" : "false"
        case .integer(let number): String(number)
        case .number(let number): String(number)
        case .string(let string): string
        case .array, .object: value.serialized
        }
    }

    static func quoted(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
