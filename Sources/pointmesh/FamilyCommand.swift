import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh family join|leave|show`: family membership and the family view.
enum FamilyCommand: Command {
    static let name = "family"
    static let summary = "put a customer into a family, take it out, show a family"
    static let family = Option("family", .value("ID"), required: true, "the family")
    static let account = Option("account", .value("ID"), "the customer who joins or leaves")
    static let autoPool = Option("auto-pool", .value("on|off"), "with join: credit the member's earnings to the family pool, or stop that")
    static let options: [Option] = [family, account, autoPool] + NodeClient.options
    static let forms = ["join --family ID --account ID [options]", "leave --family ID --account ID [options]", "show --family ID [options]"]
    static let description = """
        `join` puts the customer into the family (the first member creates it); a customer is
        in at most one family; with --auto-pool on, its earnings are credited to the family pool
        (recorded as its own), and `join --auto-pool off` for a member stops that. `leave` takes
        it out. Both are safe to repeat. `show` lists the members and the pool's balance. The
        pool is the account family:ID: members move points into it with `pointmesh transfer` and
        redeem from it with `pointmesh redeem --account family:ID --member ID`.
        """
    static let epilogue = NodeClient.exitStatuses
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let family = try arguments.required(Self.family)
        let path = "/v1/families/\(family.urlPathEscaped)"
        let describe: @Sendable (NodeClient.Answer) -> String = { answer in
            let members = answer.object["members"]?.arrayValue?.compactMap(\.stringValue) ?? [], pooling = Set(answer.object["auto_pooling"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let listed = members.map { pooling.contains($0) ? "\($0) (earns into the pool)" : $0 }
            return "family \(answer.string("family_id")): \(members.isEmpty ? "no members" : listed.joined(separator: ", ")); "
                + "pool \(answer.string("pool_account")) holds \(answer.int("pool_balance")) points"
        }
        switch arguments.positional.first {
        case "join":
            let account = try arguments.required(Self.account)
            var body: [String: JSONValue]?
            switch arguments.value(Self.autoPool) {
            case nil: body = nil
            case "on": body = ["auto_pool": .bool(true)]
            case "off": body = ["auto_pool": .bool(false)]
            case let other?: throw UsageError(message: "--auto-pool takes on or off, not \(other)")
            }
            return try node.call("PUT", "\(path)/members/\(account.urlPathEscaped)", body: body) { "\(account) is in " + describe($0) }
        case "leave":
            let account = try arguments.required(Self.account)
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
    static let from = Option("from", .value("ID"), required: true, "the sender")
    static let to = Option("to", .value("ID"), required: true, "the receiver: a member, or the pool family:ID")
    static let points = Option("points", .value("N"), required: true, "points to move")
    static let request = Option("request", .value("ID"), "names the transfer so a retry does not move twice (generated and printed when omitted)")
    static let options: [Option] = [from, to, points, request] + NodeClient.options
    static let description = """
        Moves N points from one account to another of the same family (a member, or the pool
        family:ID); they keep their expiry dates. Refused between accounts of different
        families, when the sender is short, or when it is frozen.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let requestID = arguments.value(Self.request) ?? generatedRequestID()
        let body: [String: JSONValue] = [
            "request_id": .string(requestID), "from_account": .string(try arguments.required(Self.from)),
            "to_account": .string(try arguments.required(Self.to)), "points": .integer(try arguments.requiredInteger(Self.points)),
        ]
        return try node.call("POST", "/v1/transfers", body: body) { answer in
            let what = "\(answer.int("points")) points from \(answer.string("from_account")) to \(answer.string("to_account"))"
            if answer.replayed { return "transfer \(requestID) was \(answer.replayNote): it moved \(what) then; nothing new moved" }
            return "transfer \(requestID): moved \(what) in family \(answer.string("family_id")) (entry \(answer.string("entry_id"))); "
                + "balances \(answer.int("from_balance")) and \(answer.int("to_balance"))"
        }
    }
}
