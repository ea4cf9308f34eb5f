/// `pointmesh redeem`: spends points.
enum RedeemCommand: Command {
    static let name = "redeem"
    static let summary = "redeem points"
    static let usage = """
        Usage: pointmesh redeem --account ID --points N [--request ID] [--reward ID] [--member ID]
                                [--node URL] [--json]

        Spends N points of the account; refused when the balance is short. --request names
        this redemption so a retry does not spend twice (generated and printed when omitted).

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["account", "points", "request", "reward", "member"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let requestID = arguments.value("request") ?? generatedRequestID()
        var body: [String: Any] = [
            "request_id": requestID,
            "account_id": try arguments.required("account"),
            "points": try arguments.integer("points") ?? { throw UsageError(message: "--points is required") }(),
        ]
        if let reward = arguments.value("reward") { body["reward_id"] = reward }
        if let member = arguments.value("member") { body["member_id"] = member }
        return try node.call("POST", "/v1/redemptions", body: body) { answer in
            let account = answer.string("account_id"), points = answer.int("points")
            if answer.replayed {
                return "redemption \(requestID) was \(answer.replayNote): it spent \(points) points of \(account) then; "
                    + "nothing new was spent. Balance now \(try node.currentBalance(account))"
            }
            return "redemption \(requestID): spent \(points) points of \(account) (entry \(answer.string("entry_id"))); balance \(answer.int("balance"))"
        }
    }
}
