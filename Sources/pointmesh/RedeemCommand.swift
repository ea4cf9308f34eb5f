import PointMeshCommandLine

/// `pointmesh redeem`: spends points.
enum RedeemCommand: Command {
    static let name = "redeem"
    static let summary = "redeem points"
    static let usage = """
        Usage: pointmesh redeem --account ID (--points N | --reward ID [--points N] [--bill-fen N])
                                [--request ID] [--member ID] [--node URL] [--json]

        Spends N points of the account, or the cost of a reward in the catalog (--reward); for
        a bill-deduction reward, up to N points become a discount on a bill of --bill-fen fen.
        Refused when the balance is short. --member names who redeems from a family pool.
        --request names this redemption so a retry does not spend twice (generated and printed
        when omitted).

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["account", "points", "request", "reward", "member", "bill-fen"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let requestID = arguments.value("request") ?? generatedRequestID()
        var body: [String: Any] = ["request_id": requestID, "account_id": try arguments.required("account")]
        if let points = try arguments.integer("points") { body["points"] = points }
        if let reward = arguments.value("reward") { body["reward_id"] = reward }
        if body["points"] == nil, body["reward_id"] == nil { throw UsageError(message: "--points or --reward is required") }
        if let bill = try arguments.integer("bill-fen") { body["bill_amount_fen"] = bill }
        if let member = arguments.value("member") { body["member_id"] = member }
        return try node.call("POST", "/v1/redemptions", body: body) { answer in
            let account = answer.string("account_id"), points = answer.int("points")
            if answer.replayed {
                return "redemption \(requestID) was \(answer.replayNote): it spent \(points) points of \(account) then; "
                    + "nothing new was spent. Balance now \(try node.currentBalance(account))"
            }
            let reward = (answer.object["reward_id"] as? String).map { " on reward \($0)" } ?? ""
            let discount = (answer.object["fen_deducted"] as? Int).map { "; \($0) fen off the bill" } ?? ""
            return "redemption \(requestID): spent \(points) points of \(account)\(reward) (entry \(answer.string("entry_id")))\(discount); balance \(answer.int("balance"))"
        }
    }
}
