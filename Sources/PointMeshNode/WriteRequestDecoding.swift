import PointMeshCore

/// Turns request bodies into validated core commands. Nothing that fails here reaches the
/// ledger, so bad input never writes an entry.
enum WriteRequestDecoding {
    static func purchase(_ body: [UInt8]) throws(APIError) -> PurchaseRequest {
        let object = try JSONValue.object(from: body)
        try object.requireOnly(["receipt_id", "account_id", "amount_fen", "items"])
        var items: [PurchaseItem] = []
        for item in try object.optionalArray("items", maximumCount: Limits.maximumItems) {
            try item.requireOnly(["sku", "category", "amount_fen"])
            items.append(PurchaseItem(
                sku: try item.identifier("sku"),
                category: try item.identifier("category"),
                amount: Fen(try item.positiveInteger("amount_fen", maximum: Limits.maximumAmount.value))))
        }
        return PurchaseRequest(
            receipt: try object.identifier("receipt_id"),
            account: try object.identifier("account_id"),
            amount: Fen(try object.positiveInteger("amount_fen", maximum: Limits.maximumAmount.value)),
            items: items)
    }

    static func refund(_ body: [UInt8]) throws(APIError) -> RefundRequest {
        let object = try JSONValue.object(from: body)
        try object.requireOnly(["refund_id", "receipt_id", "amount_fen"])
        return RefundRequest(
            refund: try object.identifier("refund_id"),
            receipt: try object.identifier("receipt_id"),
            amount: Fen(try object.positiveInteger("amount_fen", maximum: Limits.maximumAmount.value)))
    }

    static func redemption(_ body: [UInt8]) throws(APIError) -> RedemptionRequest {
        let object = try JSONValue.object(from: body)
        try object.requireOnly(["request_id", "account_id", "points", "reward_id", "member_id"])
        return RedemptionRequest(
            request: try object.identifier("request_id"),
            account: try object.identifier("account_id"),
            points: Points(try object.positiveInteger("points", maximum: Limits.maximumPoints.value)),
            reward: try object.optionalIdentifier("reward_id"),
            member: try object.optionalIdentifier("member_id"))
    }
}
