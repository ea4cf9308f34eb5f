/// `pointmesh history`: an account's entries, newest first.
enum HistoryCommand: Command {
    static let name = "history"
    static let summary = "list an account's entries, newest first"
    static let usage = """
        Usage: pointmesh history --account ID [--limit N] [--before CURSOR] [--node URL] [--json]

        Lists the account's entries, newest first, N at a time (default 50). When there are
        more, the last line gives the --before cursor for the next page.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["account", "limit", "before"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let account = try arguments.required("account")
        var path = "/v1/accounts/\(account.urlPathEscaped)/entries"
        var query: [String] = []
        if let limit = try arguments.integer("limit") { query.append("limit=\(limit)") }
        if let before = arguments.value("before") { query.append("before=\(before.urlPathEscaped)") }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return try node.call("GET", path) { answer in
            let entries = answer["entries"] as? [[String: Any]] ?? []
            var lines = entries.map { entry in
                let delta = entry["balance_delta"] as? Int ?? 0
                return "\(entry["created_at"] ?? "")  \(entry["entry_id"] ?? "")  \(entry["kind"] ?? "")  \(delta >= 0 ? "+" : "")\(delta)"
                    + ((entry["receipt_id"] as? String).map { "  receipt \($0)" } ?? "")
            }
            if entries.isEmpty { lines.append("no entries") }
            if let next = answer["next_cursor"] as? String { lines.append("more: --before \(next)") }
            return lines.joined(separator: "\n")
        }
    }
}
