/// `pointmesh refund`: refunds part or all of a receipt and claws its points back.
enum RefundCommand: Command {
    static let name = "refund"
    static let summary = "refund a receipt, reversing its points pro rata"
    static let usage = """
        Usage: pointmesh refund --receipt ID --amount-fen N [--refund ID] [--node URL] [--json]

        Refunds N fen of receipt ID. The points the receipt earned are reversed in proportion;
        points already spent become a debt that later earnings repay. --refund names this refund
        so a retry does not refund twice (generated and printed when omitted).

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["refund", "receipt", "amount-fen"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let refundID = arguments.value("refund") ?? generatedRequestID()
        let body: [String: Any] = [
            "refund_id": refundID,
            "receipt_id": try arguments.required("receipt"),
            "amount_fen": try arguments.integer("amount-fen") ?? { throw UsageError(message: "--amount-fen is required") }(),
        ]
        return try node.call("POST", "/v1/refunds", body: body) { answer in
            "refund \(refundID): reversed \(answer["points_reversed"] ?? 0) points of \(answer["account_id"] ?? "?") (entry \(answer["entry_id"] ?? "?")); balance \(answer["balance"] ?? 0)"
        }
    }
}
