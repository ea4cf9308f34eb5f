import PointMeshCommandLine

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
            let entries = answer.object["entries"] as? [[String: Any]] ?? []
            if entries.isEmpty { return "no entries for \(account)" }
            let rows = entries.map { entry -> [String] in
                let delta = entry["balance_delta"] as? Int ?? 0, debt = entry["debt_delta"] as? Int ?? 0
                let detail = [
                    (entry["receipt_id"] as? String).map { "receipt \($0)" },
                    (entry["refund_id"] as? String).map { "refund \($0)" },
                    (entry["request_id"] as? String).map { "request \($0)" },
                    (entry["amount_fen"] as? Int).map { "\($0) fen" },
                    (entry["lot_entry_id"] as? String).map { "lot of entry \($0), earned \(entry["earned_at"] as? String ?? "?")" },
                    (entry["batch_id"] as? String).map { "batch \($0): \(entry["reason"] as? String ?? "") (\(entry["reference"] as? String ?? ""))" },
                    (entry["days"] as? Int).map { "expiry +\($0) days" },
                    (entry["from_account"] as? String).map { "from \($0) to \(entry["to_account"] as? String ?? "?")" },
                    (entry["member_id"] as? String).map { "for member \($0)" },
                    (entry["pooled_to"] as? String).map { "credited to the pool \($0)" },
                    entry["kind"] as? String == "family-join" ? (entry["family_id"] as? String).map { "joined \($0)" } : nil,
                    entry["kind"] as? String == "family-leave" ? (entry["family_id"] as? String).map { "left \($0)" } : nil,
                    (entry["evidence_ref"] as? String).map { "\(entry["reason"] as? String ?? ""), evidence \($0), by \(entry["operator"] as? String ?? "?")" },
                    entry["void"] as? Bool == true ? "void: \(entry["void_reason"] as? String ?? "no points moved")" : nil,
                    entry["duplicate"] as? Bool == true ? "duplicate copy, counts for nothing" : nil,
                    (entry["made_by"] as? String).map { "by \($0)" },
                ].compactMap { $0 }.joined(separator: ", ")
                return [entry["created_at"] as? String ?? "", entry["entry_id"] as? String ?? "", entry["kind"] as? String ?? "",
                        Self.signed(delta), debt == 0 ? "" : Self.signed(debt), detail]
            }
            var lines = Table.render(header: ["TIME", "ENTRY", "KIND", "BALANCE", "DEBT", "DETAIL"], rows: rows)
            if let next = answer.object["next_cursor"] as? String { lines.append("more: --before \(next)") }
            return lines.joined(separator: "\n")
        }
    }

    private static func signed(_ value: Int) -> String { value > 0 ? "+\(value)" : "\(value)" }
}
