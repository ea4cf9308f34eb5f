/// `pointmesh earn`: records a purchase and earns its points.
enum EarnCommand: Command {
    static let name = "earn"
    static let summary = "earn points for a purchase"
    static let usage = """
        Usage: pointmesh earn --account ID --receipt ID --amount-fen N [--node URL] [--json]

        Records a purchase of N fen on receipt ID and earns 1 point per whole yuan; points that
        repay a debt (from an earlier refund of spent points) are said so. Sending the same
        receipt again does not earn twice: it prints what was recorded the first time.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["account", "receipt", "amount-fen"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let receipt = try arguments.required("receipt")
        let body: [String: Any] = [
            "account_id": try arguments.required("account"),
            "receipt_id": receipt,
            "amount_fen": try arguments.integer("amount-fen") ?? { throw UsageError(message: "--amount-fen is required") }(),
        ]
        return try node.call("POST", "/v1/purchases", body: body) { answer in
            let account = answer.string("account_id"), points = answer.int("points"), repaid = -answer.int("debt_delta")
            let repayment = repaid > 0 ? " (\(repaid) of them repaid debt)" : ""
            if answer.replayed {
                return "receipt \(receipt) was \(answer.replayNote): it earned \(points) points for \(account)\(repayment) then; "
                    + "nothing new was earned. Balance now \(try node.currentBalance(account))"
            }
            var line = "earned \(points) points for \(account)\(repayment) (entry \(answer.string("entry_id"))); balance \(answer.int("balance"))"
            if let pending = answer.object["pending_until"] as? String { line += "; the points are pending until \(pending)" }
            if let expires = answer.object["expires_at"] as? String { line += "; they expire at \(expires)" }
            return line
        }
    }
}
