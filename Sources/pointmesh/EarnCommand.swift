/// `pointmesh earn`: records a purchase and earns its points.
enum EarnCommand: Command {
    static let name = "earn"
    static let summary = "earn points for a purchase"
    static let usage = """
        Usage: pointmesh earn --account ID --receipt ID --amount-fen N [--node URL] [--json]

        Records a purchase of N fen on receipt ID and earns 1 point per whole yuan. Sending the
        same receipt again does not earn twice.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["account", "receipt", "amount-fen"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let body: [String: Any] = [
            "account_id": try arguments.required("account"),
            "receipt_id": try arguments.required("receipt"),
            "amount_fen": try arguments.integer("amount-fen") ?? { throw UsageError(message: "--amount-fen is required") }(),
        ]
        return try node.call("POST", "/v1/purchases", body: body) { answer in
            "earned \(answer["points"] ?? 0) points for \(answer["account_id"] ?? "?") (entry \(answer["entry_id"] ?? "?")); balance \(answer["balance"] ?? 0)"
        }
    }
}
