import Foundation
import PointMeshHTTP
import Testing

/// Real nodes negotiate the exchanges of each session: two that speak the test-only probe run
/// it, and a node that does not skips it with both of them while replication goes on.
@Suite struct GossipExchangeProcessTests {
    @Test func anExchangeOnlySomeNodesSpeakIsRunBetweenThemAndSkippedWithTheRest() throws {
        let probe = ["POINTMESH_TEST_EXCHANGES": "probe"], fast = ["--gossip-interval-ms", "200"]
        let first = try NodeProcess(extraArguments: ["--node-id", "x1"] + fast, environment: probe)
        var nodes = [first]
        defer { nodes.forEach { $0.stop(); $0.removeFiles() } }
        let seed = ["--seed", first.gossipAddress.description]
        nodes.append(try NodeProcess(extraArguments: ["--node-id", "x2"] + seed + fast, environment: probe))
        nodes.append(try NodeProcess(extraArguments: ["--node-id", "x3"] + seed + fast))
        for (index, node) in nodes.enumerated() {
            // An account per store: a customer shopping at two would move rights between them (more entries).
            let body = #"{"receipt_id":"X\#(index)","account_id":"ann\#(index)","amount_fen":10000}"#
            #expect(try node.client().postJSON("/v1/purchases", body).status == 201)
        }
        let converged = eventually(within: 20) {
            try nodes.allSatisfy { try $0.client().getJSON("/v1/status")["entries"] as? Int == 3 }
        }
        #expect(converged, "every node holds every store's write")
        func counter(_ node: NodeProcess, _ family: String, _ exchange: String) throws -> Int {
            let text = try node.client().send("GET", "/metrics").bodyText
            let line = text.split(separator: "\n").first { $0.hasPrefix("\(family){exchange=\"\(exchange)\"} ") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let negotiated = eventually(within: 20) {
            try counter(nodes[0], "pointmesh_gossip_exchanges_total", "probe") > 0 && counter(nodes[1], "pointmesh_gossip_exchanges_total", "probe") > 0
                && counter(nodes[2], "pointmesh_gossip_exchanges_skipped_total", "probe") > 0
                && counter(nodes[0], "pointmesh_gossip_exchanges_skipped_total", "probe") > 0
        }
        #expect(negotiated, "x1 and x2 ran the probe, and skipped it with x3")
        #expect(try counter(nodes[2], "pointmesh_gossip_exchanges_total", "probe") == 0, "x3 never ran an exchange it does not speak")
        #expect(try nodes.allSatisfy { try counter($0, "pointmesh_gossip_exchanges_total", "replication") > 0 })
        #expect(try nodes.allSatisfy { try $0.client().getJSON("/v1/status")["gossip_refusals"] as? Int == 0 }, "no session failed over it")
        stopAndVerify(nodes)
    }
}
