import PointMeshCommandLine

/// The arguments every fraud action takes, and the sentence its answer makes.
enum HoldArguments {
    static let valued: Set<String> = NodeClient.valued.union(["account", "evidence", "reason", "operator", "request"])
    static let help = """
          --account ID     the account
          --evidence REF   where the evidence is (a case number, a document)
          --reason TEXT    why
          --operator NAME  the person accountable for the action
          --request ID     names the action so a retry does nothing twice (generated when omitted)
        """

    static func body(_ arguments: CommandLineArguments) throws -> [String: Any] {
        [
            "request_id": arguments.value("request") ?? generatedRequestID(), "evidence_ref": try arguments.required("evidence"),
            "reason": try arguments.required("reason"), "operator": try arguments.required("operator"),
        ]
    }
}

/// `pointmesh freeze` and `pointmesh unfreeze`: a fraud hold on an account, and lifting it.
enum FreezeCommand: Command {
    static let name = "freeze"
    static let summary = "freeze an account for documented abuse (admin)"
    static let usage = """
        Usage: pointmesh freeze --account ID --evidence REF --reason TEXT --operator NAME [--request ID]
                                [--node URL] [--json]

        Freezes the account: it keeps earning but can't redeem until unfrozen, on every node the
        freeze reaches. Recorded in its history with the evidence, reason and operator.

        \(HoldArguments.help)
        \(NodeClient.optionsHelp)
        """
    static let valued = HoldArguments.valued
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 { try hold("freeze", arguments) }

    static func hold(_ action: String, _ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let account = try arguments.required("account")
        return try node.call("POST", "/v1/accounts/\(account.urlPathEscaped)/\(action)", body: try HoldArguments.body(arguments)) { answer in
            let state = answer.object["frozen"] as? Bool == true ? "frozen" : "unfrozen"
            return answer.replayed ? "\(account) was \(state) before (\(answer.replayNote)); nothing changed"
                : "\(account) \(state) (entry \(answer.string("entry_id"))): \(answer.string("reason")), evidence \(answer.string("evidence_ref")), by \(answer.string("operator"))"
        }
    }
}

enum UnfreezeCommand: Command {
    static let name = "unfreeze"
    static let summary = "lift a freeze (admin)"
    static let usage = """
        Usage: pointmesh unfreeze --account ID --evidence REF --reason TEXT --operator NAME [--request ID]
                                  [--node URL] [--json]

        Lifts the account's freeze, recorded like the freeze.

        \(HoldArguments.help)
        \(NodeClient.optionsHelp)
        """
    static let valued = HoldArguments.valued
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 { try FreezeCommand.hold("unfreeze", arguments) }
}

/// `pointmesh deduct`: takes points for documented abuse.
enum DeductCommand: Command {
    static let name = "deduct"
    static let summary = "deduct points for documented abuse (admin)"
    static let usage = """
        Usage: pointmesh deduct --account ID --points N --evidence REF --reason TEXT --operator NAME
                                [--request ID] [--node URL] [--json]

        Deducts N points (the soonest to expire first), at most the spendable balance; allowed on
        a frozen account. Recorded in its history with the evidence, reason and operator.

        \(HoldArguments.help)
        \(NodeClient.optionsHelp)
        """
    static let valued = HoldArguments.valued.union(["points"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        var body = try HoldArguments.body(arguments)
        body["account_id"] = try arguments.required("account")
        body["points"] = try arguments.integer("points") ?? { throw UsageError(message: "--points is required") }()
        return try node.call("POST", "/v1/deductions", body: body) { answer in
            answer.replayed ? "deduction was \(answer.replayNote); nothing new was deducted"
                : "deducted \(answer.int("points")) points from \(answer.string("account_id")) (entry \(answer.string("entry_id"))); balance \(answer.int("balance"))"
        }
    }
}
