import PointMeshCommandLine

/// `pointmesh refund`: refunds part or all of a receipt and claws its points back.
enum RefundCommand: Command {
    static let name = "refund"
    static let summary = "refund a receipt, reversing its points pro rata"
    static let usage = """
        Usage: pointmesh refund --receipt ID --amount-fen N [--refund ID] [--node URL] [--json]

        Refunds N fen of receipt ID. The points the receipt earned are reversed in proportion;
        points already spent become a debt that later earnings repay, and the output says how
        many. --refund names this refund so a retry does not refund twice (generated and
        printed when omitted).

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
            let account = answer.string("account_id"), reversed = answer.int("points_reversed"), debt = answer.int("debt_delta")
            let debtNote = debt > 0 ? "; \(debt) of them were already spent and became debt, repaid by later earnings" : ""
            if answer.replayed {
                return "refund \(refundID) was \(answer.replayNote): it reversed \(reversed) points of \(account)\(debtNote) then; "
                    + "nothing new was reversed. Balance now \(try node.currentBalance(account))"
            }
            return "refund \(refundID): reversed \(reversed) points of \(account)\(debtNote) (entry \(answer.string("entry_id"))); balance \(answer.int("balance"))"
        }
    }
}
