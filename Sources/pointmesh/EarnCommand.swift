import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh earn`: records a purchase and earns its points.
enum EarnCommand: Command {
    static let name = "earn"
    static let summary = "earn points for a purchase"
    static let account = Option("account", .value("ID"), required: true, "the customer's account")
    static let receipt = Option("receipt", .value("ID"), required: true, "the receipt, unique per purchase")
    static let amountFen = Option("amount-fen", .value("N"), required: true, "the purchase in fen")
    static let item = Option("item", .values("SKU:CATEGORY:FEN"), "a line of the receipt")
    static let budgetOverride = Option("budget-override", .value("REASON"), "issue past the month's budget, for this reason")
    static let options: [Option] = [account, receipt, amountFen, item, budgetOverride] + NodeClient.options
    static let description = """
        Records a purchase of N fen on receipt ID and earns 1 point per whole yuan, plus what
        the campaigns in force add (items name categories, which campaigns and green points
        filter on); points that repay a debt (from an earlier refund of spent points) are said
        so. --budget-override issues past the month's budget, for the reason given. Sending the
        same receipt again does not earn twice: it prints what was recorded the first time.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let receipt = try arguments.required(Self.receipt)
        var body: [String: JSONValue] = [
            "account_id": .string(try arguments.required(Self.account)),
            "receipt_id": .string(receipt),
            "amount_fen": .integer(try arguments.requiredInteger(Self.amountFen)),
        ]
        let items = try arguments.all(Self.item).map { text -> JSONValue in
            // Ids may hold colons: the category and the amount are the last two fields.
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 3, let fen = Int64(parts[parts.count - 1]) else { throw UsageError(message: "--item takes SKU:CATEGORY:FEN, not \(text)") }
            return .object(["sku": .string(parts.dropLast(2).joined(separator: ":")), "category": .string(String(parts[parts.count - 2])), "amount_fen": .integer(fen)])
        }
        if !items.isEmpty { body["items"] = .array(items) }
        if let reason = arguments.value(Self.budgetOverride) { body["budget_override"] = .object(["reason": .string(reason)]) }
        return try node.call("POST", "/v1/purchases", body: body) { answer in
            let account = answer.string("account_id"), points = answer.int("points"), repaid = -answer.int("debt_delta")
            let repayment = repaid > 0 ? " (\(repaid) of them repaid debt)" : ""
            if answer.replayed {
                return "receipt \(receipt) was \(answer.replayNote): it earned \(points) points for \(account)\(repayment) then; "
                    + "nothing new was earned. Balance now \(try node.currentBalance(account))"
            }
            var line = "earned \(points) points for \(account)\(repayment) (entry \(answer.string("entry_id"))); balance \(answer.int("balance"))"
            let campaigns = (answer.object["campaigns"]?.arrayValue ?? []).map { "\($0["campaign_id"]?.stringValue ?? "") +\($0["points"]?.integerValue ?? 0)" }
            if !campaigns.isEmpty { line += "; campaigns: " + campaigns.joined(separator: ", ") }
            if answer.int("green_points") > 0 { line += "; \(answer.int("green_points")) of them green" }
            if let pool = answer.object["pooled_to"]?.stringValue { line += "; credited to the pool \(pool)" }
            if let pending = answer.object["pending_until"]?.stringValue { line += "; the points are pending until \(pending)" }
            if let expires = answer.object["expires_at"]?.stringValue { line += "; they expire at \(expires)" }
            return line
        }
    }
}
