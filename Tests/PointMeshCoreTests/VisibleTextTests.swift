import PointMeshCore
import PointMeshJSON
import Testing

/// Evidence, reasons, operators, references and override reasons must show something: text of
/// only invisible characters records nothing an auditor can read (issue "Two stores deciding at
/// once", reproduction 9).
@Suite struct VisibleTextTests {
    static let invisible = ["\u{200B}", "\u{2060}", "\u{FEFF}", "\u{00AD}", "\u{180E}", "\u{202E}", "\u{200B}\u{202E}\u{FEFF}",
                            "\u{3164}", "\u{0301}", " \u{00A0}\u{2007}", "\u{200D}\u{200C}"]

    private func hold(evidence: String, reason: String = "farming", operatorName: String = "op") -> [UInt8] {
        func quoted(_ text: String) -> String { JSONValue.string(text).serialized }
        return Array(#"{"request_id":"H1","evidence_ref":\#(quoted(evidence)),"reason":\#(quoted(reason)),"operator":\#(quoted(operatorName))}"#.utf8)
    }

    @Test(arguments: invisible)
    func invisibleTextIsRefusedNamingTheField(text: String) {
        for (body, field) in [(hold(evidence: text), "evidence_ref"), (hold(evidence: "C-1", reason: text), "reason"),
                              (hold(evidence: "C-1", operatorName: text), "operator")] {
            #expect {
                try PreparedWrite.parse(Freeze.self, body: body, path: ["account_id": "eve"])
            } throws: { error in
                guard case RequestError.invalidField(let name, _) = error else { return false }
                return name == field
            }
        }
        let grant = #"{"batch_id":"B1","action":"grant","reason":"outage","reference":\#(JSONValue.string(text).serialized),"accounts":["a"],"points":5}"#
        #expect(throws: RequestError.self) { try PreparedWrite.parse(Compensation.self, body: Array(grant.utf8)) }
        let purchase = #"{"receipt_id":"R1","account_id":"a","amount_fen":100,"budget_override":{"reason":\#(JSONValue.string(text).serialized)}}"#
        #expect(throws: RequestError.self) { try PreparedWrite.parse(Earn.self, body: Array(purchase.utf8)) }
    }

    /// Accepted, and recorded as sent: the history shows the text itself, not a trimmed or
    /// emptied form of it.
    @Test(arguments: ["C-1", "欺诈", "\u{200B}x", "é", "e\u{0301}", "🙂", "\u{202E}abc"])
    func textWithAVisibleCharacterIsAcceptedAndRecordedAsSent(text: String) throws {
        var ledger = MemoryLedger(origin: NodeID(unchecked: "hq"))
        func recorded(_ write: PreparedWrite, now: Int64) throws -> LedgerEntry {
            guard case .append(let entry) = try ledger.write(write, now: now) else { throw LedgerError.nothingOwed }
            return entry
        }
        let purchase = #"{"receipt_id":"R1","account_id":"eve","amount_fen":100,"budget_override":{"reason":\#(JSONValue.string(text).serialized)}}"#
        let earned = try recorded(try PreparedWrite.parse(Earn.self, body: Array(purchase.utf8)), now: 1_000)
        #expect(try Earn.historyFields(earned)["budget_override"] == .string(text))
        let grant = #"{"batch_id":"B1","action":"grant","reason":"outage","reference":\#(JSONValue.string(text).serialized),"accounts":["eve"],"points":5}"#
        let granted = try recorded(try PreparedWrite.parse(Compensation.self, body: Array(grant.utf8)), now: 2_000)
        #expect(try Compensation.historyFields(granted)["reference"] == .string(text))
        let frozen = try recorded(try PreparedWrite.parse(Freeze.self, body: hold(evidence: text), path: ["account_id": "eve"]), now: 3_000)
        #expect(try Freeze.historyFields(frozen)["evidence_ref"] == .string(text))
    }
}
