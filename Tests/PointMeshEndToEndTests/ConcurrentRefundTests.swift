import Foundation
import PointMeshHTTP
import Testing

/// Reproduction 2 of "Two stores deciding at once", on real nodes: one receipt refunded at two
/// stores that can't see each other, together past the purchase. Each store takes the refund
/// (201); once they meet, the later refund in ledger order is void on both, the customer's
/// balance is what one refund leaves, never below zero, and `verify` is clean.
@Suite(.serialized) struct ConcurrentRefundTests {
    private static let fastGossip = ["--gossip-interval-ms", "200"]

    private func account(_ node: NodeProcess, _ id: String) throws -> [String: Any] {
        try node.client().getJSON("/v1/accounts/\(id)")
    }

    @Test func twoRefundsPastThePurchaseAtCutOffStoresLeaveOneStanding() throws {
        var x1 = try NodeProcess(extraArguments: ["--node-id", "x1"] + Self.fastGossip)
        let port = x1.gossipAddress.port, data1 = x1.dataDirectory
        var x2 = try NodeProcess(extraArguments: ["--node-id", "x2", "--seed", x1.gossipAddress.description] + Self.fastGossip)
        defer {
            for node in [x1, x2] {
                node.stop()
                #expect((try? runPointmesh(["verify", "--data", node.dataDirectory]))?.status == 0, "verify \(node.dataDirectory)")
                node.removeFiles()
            }
        }
        #expect(try x1.client().postJSON("/v1/purchases", #"{"receipt_id":"S1","account_id":"cleo","amount_fen":10000}"#).status == 201)
        let node2 = x2
        #expect(eventually(within: 15) { try account(node2, "cleo")["balance"] as? Int == 100 })
        // Cut apart: x2 down while x1 refunds, then x1 down while x2 refunds.
        x2.stop()
        let first = try x1.client().postJSON("/v1/refunds", #"{"refund_id":"RA","receipt_id":"S1","amount_fen":8000}"#)
        #expect(first.status == 201 && first.json["points_reversed"] as? Int == 80, "\(first.bodyText)")
        x1.stop()
        x2 = try NodeProcess(dataDirectory: x2.dataDirectory, extraArguments: ["--node-id", "x2"] + Self.fastGossip)
        let second = try x2.client().postJSON("/v1/refunds", #"{"refund_id":"RB","receipt_id":"S1","amount_fen":8000}"#)
        #expect(second.status == 201 && second.json["points_reversed"] as? Int == 80, "\(second.bodyText)")
        // They meet again: x1 comes back on its gossip port, which x2 remembers.
        x1 = try NodeProcess(dataDirectory: data1, extraArguments: ["--node-id", "x1"] + Self.fastGossip, gossipPort: port)
        let nodes = [x1, x2]
        let converged = eventually(within: 20) {
            let digests = try nodes.map { try $0.client().getJSON("/v1/status")["digest"] as? String }
            let entries = try nodes[0].client().getJSON("/v1/status")["entries"] as? Int
            // The purchase, both refunds, and a grant if x2's request for cleo's rights is answered once x1 is back.
            return digests[0] != nil && digests[0] == digests[1] && entries ?? 0 >= 3
        }
        #expect(converged, "x1 and x2 never converged")
        for node in nodes {
            let view = try account(node, "cleo")
            #expect(view["balance"] as? Int == 20 && view["debt"] as? Int == 0, "one refund of 80 stands: \(view)")
            let history = try node.client().getJSON("/v1/accounts/cleo/entries")["entries"] as? [[String: Any]] ?? []
            let refunds = history.filter { $0["kind"] as? String == "refund" }
            #expect(refunds.count == 2)
            let void = refunds.filter { $0["void"] as? Bool == true }
            #expect(void.map { $0["refund_id"] as? String } == ["RB"] && void.first?["balance_delta"] as? Int == 0, "\(refunds)")
            #expect((void.first?["void_reason"] as? String)?.contains("refunded all of it") == true)
            // Nothing more can be refunded: 8,000 of 10,000 fen stand, and 2,000 more would reverse the last 20.
            let rest = try node.client().postJSON("/v1/refunds", #"{"refund_id":"RC-\#(node === x1 ? 1 : 2)","receipt_id":"S1","amount_fen":2001}"#)
            #expect(rest.errorCode == "refund_exceeds_purchase", "\(rest.bodyText)")
        }
    }
}
