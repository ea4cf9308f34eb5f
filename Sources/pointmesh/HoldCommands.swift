import PointMeshCommandLine
import PointMeshJSON

/// The arguments every fraud action takes, and the sentence its answer makes.
enum HoldArguments {
    static let account = Option("account", .value("ID"), required: true, "the account")
    static let evidence = Option("evidence", .value("REF"), required: true, "where the evidence is (a case number, a document)")
    static let reason = Option("reason", .value("TEXT"), required: true, "why")
    static let operatorName = Option("operator", .value("NAME"), required: true, "the person accountable for the action")
    static let request = Option("request", .value("ID"), "names the action so a retry does nothing twice (generated when omitted)")
    /// What every fraud action takes, the client's options after them.
    static let options = [account, evidence, reason, operatorName, request]

    static func body(_ arguments: CommandLineArguments) throws -> [String: JSONValue] {
        [
            "request_id": .string(arguments.value(request) ?? generatedRequestID()), "evidence_ref": .string(try arguments.required(evidence)),
            "reason": .string(try arguments.required(reason)), "operator": .string(try arguments.required(operatorName)),
        ]
    }
}

/// `pointmesh freeze` and `pointmesh unfreeze`: a fraud hold on an account, and lifting it.
enum FreezeCommand: Command {
    static let name = "freeze"
    static let summary = "freeze an account for documented abuse (admin)"
    static let options = HoldArguments.options + NodeClient.options
    static let description = """
        Freezes the account: it keeps earning but can't redeem until unfrozen, on every node the
        freeze reaches. Recorded in its history with the evidence, reason and operator.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 { try hold("freeze", arguments) }

    static func hold(_ action: String, _ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let account = try arguments.required(HoldArguments.account)
        return try node.call("POST", "/v1/accounts/\(account.urlPathEscaped)/\(action)", body: try HoldArguments.body(arguments)) { answer in
            let state = answer.object["frozen"]?.boolValue == true ? "frozen" : "unfrozen"
            return answer.replayed ? "\(account) was \(state) before (\(answer.replayNote)); nothing changed"
                : "\(account) \(state) (entry \(answer.string("entry_id"))): \(answer.string("reason")), evidence \(answer.string("evidence_ref")), by \(answer.string("operator"))"
        }
    }
}

enum UnfreezeCommand: Command {
    static let name = "unfreeze"
    static let summary = "lift a freeze (admin)"
    static let options = HoldArguments.options + NodeClient.options
    static let description = """
        Lifts the account's freeze, recorded like the freeze.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 { try FreezeCommand.hold("unfreeze", arguments) }
}

/// `pointmesh deduct`: takes points for documented abuse.
enum DeductCommand: Command {
    static let name = "deduct"
    static let summary = "deduct points for documented abuse (admin)"
    static let points = Option("points", .value("N"), required: true, "points to deduct")
    static let options = [points] + HoldArguments.options + NodeClient.options
    static let description = """
        Deducts N points (the soonest to expire first), at most the spendable balance; allowed on
        a frozen account. Recorded in its history with the evidence, reason and operator.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        var body = try HoldArguments.body(arguments)
        body["account_id"] = .string(try arguments.required(HoldArguments.account))
        body["points"] = .integer(try arguments.requiredInteger(points))
        return try node.call("POST", "/v1/deductions", body: body) { answer in
            answer.replayed ? "deduction was \(answer.replayNote); nothing new was deducted"
                : "deducted \(answer.int("points")) points from \(answer.string("account_id")) (entry \(answer.string("entry_id"))); balance \(answer.int("balance"))"
        }
    }
}
