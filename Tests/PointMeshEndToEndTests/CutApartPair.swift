import Foundation
import PointMeshHTTP
import Testing

/// Two stores that decide apart, then meet: `x1` and `x2` start without seeds (neither can see
/// the other's writes), and `join` restarts `x2` on its data seeded at `x1` and waits until both
/// hold the same entries. The cut of a partition, without network namespaces.
struct CutApartPair {
    static let fastGossip = ["--gossip-interval-ms", "200"]
    let x1: NodeProcess
    var x2: NodeProcess

    init() throws {
        x1 = try NodeProcess(extraArguments: ["--node-id", "x1"] + Self.fastGossip)
        x2 = try NodeProcess(extraArguments: ["--node-id", "x2"] + Self.fastGossip)
    }

    var nodes: [NodeProcess] { [x1, x2] }

    mutating func join() throws {
        x2.stop()
        x2 = try NodeProcess(dataDirectory: x2.dataDirectory,
                             extraArguments: ["--node-id", "x2", "--seed", x1.gossipAddress.description] + Self.fastGossip)
        let x1 = x1, x2 = x2
        let converged = eventually(within: 20) {
            let digests = try [x1, x2].map { try $0.client().getJSON("/v1/status")["digest"] as? String }
            return digests[0] != nil && digests[0] == digests[1]
        }
        #expect(converged, "x1 and x2 never converged")
    }

    /// Stops both, checks each data directory with `pointmesh verify`, and removes them.
    func stop() {
        stopAndVerify(nodes)
        for node in nodes { node.removeFiles() }
    }
}
