import PointMeshCommandLine

/// `pointmesh family join|leave|show`: family membership and the family view.
enum FamilyCommand: Command {
    static let name = "family"
    static let summary = "put a customer into a family, take it out, show a family"
    static let usage = """
        Usage: pointmesh family join --family ID --account ID [--auto-pool on|off] [--node URL] [--json]
               pointmesh family leave --family ID --account ID [--node URL] [--json]
               pointmesh family show --family ID [--node URL] [--json]

        `join` puts the customer into the family (the first member creates it); a customer is
        in at most one family; with --auto-pool on, its earnings are credited to the family pool
        (recorded as its own), and `join --auto-pool off` for a member stops that. `leave` takes
        it out. Both are safe to repeat. `show` lists the
        members and the pool's balance. The pool is the account family:ID: members move points
        into it with `pointmesh transfer` and redeem from it with `pointmesh redeem --account
        family:ID --member ID`.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["family", "account", "auto-pool"])
    static let switches = NodeClient.switches
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let family = try arguments.required("family")
        let path = "/v1/families/\(family.urlPathEscaped)"
        let describe: @Sendable (NodeClient.Answer) -> String = { answer in
            let members = answer.object["members"] as? [String] ?? [], pooling = Set(answer.object["auto_pooling"] as? [String] ?? [])
            let listed = members.map { pooling.contains($0) ? "\($0) (earns into the pool)" : $0 }
            return "family \(answer.string("family_id")): \(members.isEmpty ? "no members" : listed.joined(separator: ", ")); "
                + "pool \(answer.string("pool_account")) holds \(answer.int("pool_balance")) points"
        }
        switch arguments.positional.first {
        case "join":
            let account = try arguments.required("account")
            var body: [String: Any]?
            switch arguments.value("auto-pool") {
            case nil: body = nil
            case "on": body = ["auto_pool": true]
            case "off": body = ["auto_pool": false]
            case let other?: throw UsageError(message: "--auto-pool takes on or off, not \(other)")
            }
            return try node.call("PUT", "\(path)/members/\(account.urlPathEscaped)", body: body) { "\(account) is in " + describe($0) }
        case "leave":
            let account = try arguments.required("account")
            return try node.call("DELETE", "\(path)/members/\(account.urlPathEscaped)") { "\(account) is out; " + describe($0) }
        case "show":
            return try node.call("GET", path) { describe($0) }
        default:
            throw UsageError(message: "`family` takes `join`, `leave` or `show`")
        }
    }
}

/// `pointmesh transfer`: moves points inside a family.
enum TransferCommand: Command {
    static let name = "transfer"
    static let summary = "move points between members of a family, or to and from its pool"
    static let usage = """
        Usage: pointmesh transfer --from ID --to ID --points N [--request ID] [--node URL] [--json]

        Moves N points from one account to another of the same family (a member, or the pool
        family:ID); they keep their expiry dates. Refused between accounts of different
        families, when the sender is short, or when it is frozen. --request names the transfer
        so a retry does not move twice (generated and printed when omitted).

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["from", "to", "points", "request"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let requestID = arguments.value("request") ?? generatedRequestID()
        let body: [String: Any] = [
            "request_id": requestID, "from_account": try arguments.required("from"), "to_account": try arguments.required("to"),
            "points": try arguments.integer("points") ?? { throw UsageError(message: "--points is required") }(),
        ]
        return try node.call("POST", "/v1/transfers", body: body) { answer in
            let what = "\(answer.int("points")) points from \(answer.string("from_account")) to \(answer.string("to_account"))"
            if answer.replayed { return "transfer \(requestID) was \(answer.replayNote): it moved \(what) then; nothing new moved" }
            return "transfer \(requestID): moved \(what) in family \(answer.string("family_id")) (entry \(answer.string("entry_id"))); "
                + "balances \(answer.int("from_balance")) and \(answer.int("to_balance"))"
        }
    }
}
