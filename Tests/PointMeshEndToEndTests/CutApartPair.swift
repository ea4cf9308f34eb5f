import Foundation
import PointMeshHTTP
import Testing

/// Two stores that decide apart, then meet.
///
/// Where the test can make network namespaces (root, iproute2: `LinkedNamespaces`), each node
/// runs in its own, gossiping over a link between them with a cluster key; they meet first (each
/// lists the other as alive), then the link is cut, so the writes a test makes meanwhile are
/// decided by two stores of one chain that can't reach each other, as in a real partition;
/// `join` heals the link. Elsewhere, `x1` and `x2` start without seeds and `join` restarts `x2`
/// on its data seeded at `x1`: the same decisions apart, without a network to cut. Either way
/// `join` waits until both hold the same entries.
struct CutApartPair {
    static let fastGossip = ["--gossip-interval-ms", "200"]
    let x1: NodeProcess
    var x2: NodeProcess
    /// The namespaces, when the pair runs in them.
    private let network: LinkedNamespaces?
    private let keyFile: String?
    /// What x2 runs with, for its restart in `join`.
    private let x2Arguments: [String]

    /// `extraArguments` go to both nodes; with `hqFirst`, x1 runs as HQ's node (`--role hq`)
    /// and x2 as a store's. With `cutAtOnce` false (namespaces only), the pair stays joined
    /// until `cut`, so a test can give both nodes the same history first.
    init(extraArguments: [String] = [], hqFirst: Bool = false, cutAtOnce: Bool = true) throws {
        let x1Arguments = (hqFirst ? ["--role", "hq"] : []) + extraArguments
        x2Arguments = extraArguments
        guard let network = LinkedNamespaces.make() else {
            precondition(cutAtOnce, "a pair that meets before its cut needs network namespaces")
            x1 = try NodeProcess(extraArguments: ["--node-id", "x1"] + Self.fastGossip + x1Arguments)
            x2 = try NodeProcess(extraArguments: ["--node-id", "x2"] + Self.fastGossip + extraArguments)
            self.network = nil
            keyFile = nil
            return
        }
        self.network = network
        let key = NodeProcess.scratchDirectory() + ".key"
        keyFile = key
        do {
            try (0..<4).map { _ in UUID().uuidString }.joined().write(toFile: key, atomically: true, encoding: .utf8)
            let keyed = ["--cluster-key-file", key] + Self.fastGossip + extraArguments
            x1 = try NodeProcess(extraArguments: ["--node-id", "x1"] + keyed + (hqFirst ? ["--role", "hq"] : []), namespace: network.names[0],
                                 gossipHost: network.storeHosts[0])
            x2 = try NodeProcess(extraArguments: ["--node-id", "x2", "--seed", x1.gossipAddress.description] + keyed, namespace: network.names[1],
                                 gossipHost: network.storeHosts[1])
        } catch {
            network.remove()
            try? FileManager.default.removeItem(atPath: key)
            throw error
        }
        let (x1, x2) = (x1, x2)
        let met = eventually(within: 20) {
            try [(x1, "x2"), (x2, "x1")].allSatisfy { node, other in
                let peers = try node.client().getJSON("/v1/status")["peers"] as? [[String: Any]] ?? []
                return peers.contains { $0["node_id"] as? String == other && $0["state"] as? String == "alive" }
            }
        }
        #expect(met, "x1 and x2 never met before the cut")
        if cutAtOnce { network.cut() }
    }

    /// Cuts the link (a pair made with `cutAtOnce` false).
    func cut() {
        network?.cut()
    }

    var nodes: [NodeProcess] { [x1, x2] }

    /// Whether the pair is cut apart by a real network (namespaces) rather than by restarts.
    var isPartitioned: Bool { network != nil }

    mutating func join() throws {
        if let network {
            network.heal()
        } else {
            x2.stop()
            x2 = try NodeProcess(dataDirectory: x2.dataDirectory,
                                 extraArguments: ["--node-id", "x2", "--seed", x1.gossipAddress.description] + Self.fastGossip + x2Arguments)
        }
        let x1 = x1, x2 = x2
        let converged = eventually(within: 30) {
            let digests = try [x1, x2].map { try $0.client().getJSON("/v1/status")["digest"] as? String }
            return digests[0] != nil && digests[0] == digests[1]
        }
        #expect(converged, "x1 and x2 never converged")
    }

    /// Stops both, checks each data directory with `pointmesh verify`, and removes them and the
    /// namespaces.
    func stop() {
        for node in nodes where !node.process.isRunning { Issue.record("a node of the pair died: \(node.diagnosis(lines: 60))") }
        stopAndVerify(nodes)
        for node in nodes { node.removeFiles() }
        network?.remove()
        if let keyFile { try? FileManager.default.removeItem(atPath: keyFile) }
    }
}
