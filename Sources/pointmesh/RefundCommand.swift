import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh refund`: refunds part or all of a receipt and claws its points back.
enum RefundCommand: Command {
    static let name = "refund"
    static let summary = "refund a receipt, reversing its points pro rata"
    static let receipt = Option("receipt", .value("ID"), required: true, "the receipt refunded")
    static let amountFen = Option("amount-fen", .value("N"), required: true, "the refund in fen")
    static let refund = Option("refund", .value("ID"), "names this refund so a retry does not refund twice (generated and printed when omitted)")
    static let options: [Option] = [receipt, amountFen, refund] + NodeClient.options
    static let description = """
        Refunds N fen of receipt ID. The points the receipt earned are reversed in proportion;
        points already spent become a debt that later earnings repay, and the output says how
        many.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let refundID = arguments.value(Self.refund) ?? generatedRequestID()
        let body: [String: JSONValue] = [
            "refund_id": .string(refundID),
            "receipt_id": .string(try arguments.required(Self.receipt)),
            "amount_fen": .integer(try arguments.requiredInteger(Self.amountFen)),
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
