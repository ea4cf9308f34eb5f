import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh redeem`: spends points.
enum RedeemCommand: Command {
    static let name = "redeem"
    static let summary = "redeem points"
    static let account = Option("account", .value("ID"), required: true, "the account that spends (family:ID for a family pool)")
    static let points = Option("points", .value("N"), "points to spend (with --reward: at most N, for a bill deduction)")
    static let reward = Option("reward", .value("ID"), "a reward of the catalog, which pays its cost")
    static let billFen = Option("bill-fen", .value("N"), "the bill a bill-deduction reward discounts, in fen")
    static let member = Option("member", .value("ID"), "who redeems from a family pool")
    static let request = Option("request", .value("ID"), "names this redemption so a retry does not spend twice (generated and printed when omitted)")
    static let options: [Option] = [account, points, reward, billFen, member, request] + NodeClient.options
    static let description = """
        Spends N points of the account, or the cost of a reward in the catalog (--reward); for
        a bill-deduction reward, up to N points become a discount on a bill of --bill-fen fen.
        Refused when the balance is short. Give --points, --reward, or both.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let requestID = arguments.value(Self.request) ?? generatedRequestID()
        var body: [String: JSONValue] = ["request_id": .string(requestID), "account_id": .string(try arguments.required(Self.account))]
        if let points = try arguments.integer(Self.points) { body["points"] = .integer(points) }
        if let reward = arguments.value(Self.reward) { body["reward_id"] = .string(reward) }
        if body["points"] == nil, body["reward_id"] == nil { throw UsageError(message: "--points or --reward is required") }
        if let bill = try arguments.integer(Self.billFen) { body["bill_amount_fen"] = .integer(bill) }
        if let member = arguments.value(Self.member) { body["member_id"] = .string(member) }
        return try node.call("POST", "/v1/redemptions", body: body) { answer in
            let account = answer.string("account_id"), points = answer.int("points")
            if answer.replayed {
                return "redemption \(requestID) was \(answer.replayNote): it spent \(points) points of \(account) then; "
                    + "nothing new was spent. Balance now \(try node.currentBalance(account))"
            }
            let reward = (answer.object["reward_id"]?.stringValue).map { " on reward \($0)" } ?? ""
            let discount = (answer.object["fen_deducted"]?.integerValue).map { "; \($0) fen off the bill" } ?? ""
            return "redemption \(requestID): spent \(points) points of \(account)\(reward) (entry \(answer.string("entry_id")))\(discount); balance \(answer.int("balance"))"
        }
    }
}
