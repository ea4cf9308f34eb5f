import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh retire`: retires a node from the cluster.
enum RetireCommand: Command {
    static let name = "retire"
    static let summary = "retire a node from the cluster"
    static let nodeID = Option("node-id", .value("ID"), required: true, "the node to retire")
    static let force = Option("force", "retire it even if its peers hold it alive, or the node has never heard of it")
    static let options: [Option] = [nodeID, force] + NodeClient.options
    static let description = """
        Retires node ID: the node at URL records it and gossip spreads it, so ID leaves every
        peer list and is never a peer again. Its entries stay in the ledger. Stop the retired
        node first and ask another node (a node can't retire itself: it would stop gossiping
        before the news spread); a retired id can't be reused. A node its peers hold alive is
        refused (409 node_alive: it would go on taking writes), and an id the node has never
        heard of too (404 unknown_node), so a typo does not retire nothing while the failed
        store stays in every peer list; --force retires it anyway. A retired node that is still
        running refuses writes once it hears (503 node_retired) and hands its peers what it
        holds.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let target = try arguments.required(Self.nodeID)
        var body: [String: JSONValue] = ["node_id": .string(target)]
        if arguments.has(Self.force) { body["force"] = .bool(true) }
        return try node.call("POST", "/v1/cluster/retirements", body: body) { _ in
            "node \(target) retired; the cluster will refuse it from now on"
        }
    }
}
