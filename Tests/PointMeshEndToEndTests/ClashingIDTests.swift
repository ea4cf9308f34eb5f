import Foundation
import PointMeshHTTP
import Testing

/// Reproduction 1 of "Two stores deciding at once", on real nodes: two tills at two stores pick
/// the same id for different writes. Each node decides on its own (the second starts without a
/// seed, so neither can have seen the other's write), then the second restarts seeded at the
/// first and the two converge. Both writes must stand on both nodes.
@Suite(.serialized) struct ClashingIDTests {
    private func post(_ node: NodeProcess, _ path: String, _ body: String) throws -> HTTPClientResponse {
        try node.client().postJSON(path, body)
    }

    private func account(_ node: NodeProcess, _ id: String) throws -> [String: Any] {
        try node.client().getJSON("/v1/accounts/\(id)")
    }

    @Test func twoRedemptionsUnderOneRequestIDBothStand() throws {
        var pair = try CutApartPair()
        defer { pair.stop() }
        #expect(try post(pair.x1, "/v1/purchases", #"{"receipt_id":"W-1","account_id":"w1","amount_fen":5000}"#).status == 201)
        #expect(try post(pair.x2, "/v1/purchases", #"{"receipt_id":"RICH-1","account_id":"rich","amount_fen":100000}"#).status == 201)
        #expect(try post(pair.x1, "/v1/redemptions", #"{"request_id":"Q-1","account_id":"w1","points":10}"#).status == 201)
        #expect(try post(pair.x2, "/v1/redemptions", #"{"request_id":"Q-1","account_id":"rich","points":700}"#).status == 201)
        try pair.join()
        for node in [pair.x1, pair.x2] {
            #expect(try account(node, "rich")["balance"] as? Int == 300, "rich keeps the 700 points spent")
            #expect(try account(node, "w1")["balance"] as? Int == 40)
            // Each till's retry, at either node, is a replay of its own write.
            let retry = try post(node, "/v1/redemptions", #"{"request_id":"Q-1","account_id":"rich","points":700}"#)
            #expect(retry.status == 200 && retry.json["replayed"] as? Bool == true, "\(retry.status) \(retry.json)")
            #expect(try post(node, "/v1/redemptions", #"{"request_id":"Q-1","account_id":"w1","points":10}"#).status == 200)
            // A third body under the id is a conflict, as at one node.
            #expect(try post(node, "/v1/redemptions", #"{"request_id":"Q-1","account_id":"w1","points":11}"#).errorCode == "idempotency_conflict")
            let history = try node.client().getJSON("/v1/accounts/rich/entries")["entries"] as? [[String: Any]] ?? []
            #expect(history.allSatisfy { $0["duplicate"] as? Bool == false }, "\(history)")
            // Operators see the clash: listed with both entries, and counted.
            let clashes = try node.client().getJSON("/v1/clashes")["clashes"] as? [[String: Any]] ?? []
            #expect(clashes.map { $0["key"] as? String } == ["redemption:Q-1"], "\(clashes)")
            let entries = clashes.first?["entries"] as? [[String: Any]] ?? []
            #expect(Set(entries.compactMap { $0["origin"] as? String }) == ["x1", "x2"], "\(entries)")
            let metrics = try node.client().send("GET", "/metrics").bodyText
            #expect(metrics.contains("\npointmesh_idempotency_clashes 1\n"), "\(metrics)")
        }
        #expect(try account(pair.x1, "rich")["balance"] as? Int == 300, "the retries spent nothing more")
    }

    /// Two tills refund different receipts under one refund id: both refunds stand on both
    /// nodes, the clash is listed, and each till's retry is a replay of its own refund.
    @Test func twoRefundsUnderOneRefundIDBothStand() throws {
        var pair = try CutApartPair()
        defer { pair.stop() }
        #expect(try post(pair.x1, "/v1/purchases", #"{"receipt_id":"F-1","account_id":"w1","amount_fen":5000}"#).status == 201)
        #expect(try post(pair.x2, "/v1/purchases", #"{"receipt_id":"F-2","account_id":"w2","amount_fen":7000}"#).status == 201)
        #expect(try post(pair.x1, "/v1/refunds", #"{"refund_id":"RF","receipt_id":"F-1","amount_fen":5000}"#).status == 201)
        #expect(try post(pair.x2, "/v1/refunds", #"{"refund_id":"RF","receipt_id":"F-2","amount_fen":3000}"#).status == 201)
        try pair.join()
        for node in [pair.x1, pair.x2] {
            #expect(try account(node, "w1")["balance"] as? Int == 0, "w1's refund of the whole purchase stands")
            #expect(try account(node, "w2")["balance"] as? Int == 40, "w2's refund of 3,000 fen stands")
            let retry = try post(node, "/v1/refunds", #"{"refund_id":"RF","receipt_id":"F-2","amount_fen":3000}"#)
            #expect(retry.status == 200 && retry.json["replayed"] as? Bool == true, "\(retry.status) \(retry.json)")
            let clashes = try node.client().getJSON("/v1/clashes")["clashes"] as? [[String: Any]] ?? []
            #expect(clashes.map { $0["key"] as? String } == ["refund:RF"], "\(clashes)")
        }
        #expect(try account(pair.x2, "w2")["balance"] as? Int == 40, "the retries reversed nothing more")
    }

    @Test func twoPurchasesUnderOneReceiptIDBothEarnAndARefundTakesItsStoresOwn() throws {
        var pair = try CutApartPair()
        defer { pair.stop() }
        #expect(try post(pair.x1, "/v1/purchases", #"{"receipt_id":"D3","account_id":"w1","amount_fen":5000}"#).status == 201)
        #expect(try post(pair.x2, "/v1/purchases", #"{"receipt_id":"D3","account_id":"w2","amount_fen":7000}"#).status == 201)
        try pair.join()
        for node in [pair.x1, pair.x2] {
            #expect(try account(node, "w1")["balance"] as? Int == 50)
            #expect(try account(node, "w2")["balance"] as? Int == 70)
        }
        // x2's till refunds its own receipt D3: w2's purchase, not w1's.
        let refund = try post(pair.x2, "/v1/refunds", #"{"refund_id":"DR4","receipt_id":"D3","amount_fen":7000}"#)
        #expect(refund.status == 201 && refund.json["account_id"] as? String == "w2" && refund.json["points_reversed"] as? Int == 70,
                "\(refund.status) \(refund.json)")
        // And x1's till refunds its own: w1's 5,000 fen, though 7,000 were refunded under the id at x2.
        let other = try post(pair.x1, "/v1/refunds", #"{"refund_id":"DR5","receipt_id":"D3","amount_fen":5000}"#)
        #expect(other.status == 201 && other.json["account_id"] as? String == "w1" && other.json["points_reversed"] as? Int == 50,
                "\(other.status) \(other.json)")
        let x1 = pair.x1, x2 = pair.x2
        #expect(eventually(within: 20) {
            try [x1, x2].allSatisfy { node in
                try account(node, "w1")["balance"] as? Int == 0 && account(node, "w2")["balance"] as? Int == 0
                    && account(node, "w1")["debt"] as? Int == 0 && account(node, "w2")["debt"] as? Int == 0
            }
        }, "both refunds reversed their own purchase on both nodes")
        #expect(try post(pair.x1, "/v1/refunds", #"{"refund_id":"DR6","receipt_id":"D3","amount_fen":1}"#).errorCode == "refund_exceeds_purchase")
    }
}
