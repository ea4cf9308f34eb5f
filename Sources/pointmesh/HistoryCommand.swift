import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh history`: an account's entries, newest first.
enum HistoryCommand: Command {
    static let name = "history"
    static let summary = "list an account's entries, newest first"
    static let account = Option("account", .value("ID"), required: true, "the customer's account")
    static let limit = Option("limit", .value("N"), "entries per page (default 50)")
    static let before = Option("before", .value("CURSOR"), "the cursor the last page printed, for the next page")
    static let options: [Option] = [account, limit, before] + NodeClient.options
    static let description = """
        Lists the account's entries, newest first, N at a time. When there are more, the last
        line gives the --before cursor for the next page.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let account = try arguments.required(Self.account)
        var path = "/v1/accounts/\(account.urlPathEscaped)/entries"
        var query: [String] = []
        if let limit = try arguments.integer(Self.limit) { query.append("limit=\(limit)") }
        if let before = arguments.value(Self.before) { query.append("before=\(before.urlPathEscaped)") }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return try node.call("GET", path) { answer in
            let entries = answer.object["entries"]?.arrayValue ?? []
            if entries.isEmpty { return "no entries for \(account)" }
            let rows = entries.map { entry -> [String] in
                let delta = entry["balance_delta"]?.integerValue ?? 0, debt = entry["debt_delta"]?.integerValue ?? 0
                let parts: [String?] = [
                    (entry["receipt_id"]?.stringValue).map { "receipt \($0)" },
                    (entry["refund_id"]?.stringValue).map { "refund \($0)" },
                    (entry["request_id"]?.stringValue).map { "request \($0)" },
                    (entry["amount_fen"]?.integerValue).map { "\($0) fen" },
                    (entry["lot_entry_id"]?.stringValue).map { "lot of entry \($0), earned \(entry["earned_at"]?.stringValue ?? "?")" },
                    (entry["batch_id"]?.stringValue).map { "batch \($0): \(entry["reason"]?.stringValue ?? "") (\(entry["reference"]?.stringValue ?? ""))" },
                    (entry["days"]?.integerValue).map { "expiry +\($0) days" },
                    (entry["from_account"]?.stringValue).map { "from \($0) to \(entry["to_account"]?.stringValue ?? "?")" },
                    (entry["member_id"]?.stringValue).map { "for member \($0)" },
                    (entry["pooled_to"]?.stringValue).map { "credited to the pool \($0)" },
                    entry["kind"]?.stringValue == "family-join" ? (entry["family_id"]?.stringValue).map { "joined \($0)" } : nil,
                    entry["kind"]?.stringValue == "family-leave" ? (entry["family_id"]?.stringValue).map { "left \($0)" } : nil,
                    (entry["evidence_ref"]?.stringValue).map { "\(entry["reason"]?.stringValue ?? ""), evidence \($0), by \(entry["operator"]?.stringValue ?? "?")" },
                    entry["void"]?.boolValue == true ? "void: \(entry["void_reason"]?.stringValue ?? "no points moved")" : nil,
                    entry["duplicate"]?.boolValue == true ? "duplicate copy, counts for nothing" : nil,
                    (entry["made_by"]?.stringValue).map { "by \($0)" },
                ]
                let detail = parts.compactMap { $0 }.joined(separator: ", ")
                return [entry["created_at"]?.stringValue ?? "", entry["entry_id"]?.stringValue ?? "", entry["kind"]?.stringValue ?? "",
                        Self.signed(delta), debt == 0 ? "" : Self.signed(debt), detail]
            }
            var lines = Table.render(header: ["TIME", "ENTRY", "KIND", "BALANCE", "DEBT", "DETAIL"], rows: rows)
            if let next = answer.object["next_cursor"]?.stringValue { lines.append("more: --before \(next)") }
            return lines.joined(separator: "\n")
        }
    }

    private static func signed(_ value: Int64) -> String { value > 0 ? "+\(value)" : "\(value)" }
}
