/// `pointmesh status`: a node's id, role, entry count, digest and peers.
enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show a node's status"
    static let usage = """
        Usage: pointmesh status [--node URL] [--json]

        \(NodeClient.optionsHelp)
        """
    static let valued = NodeClient.valued
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        try NodeClient(arguments).call("GET", "/v1/status") { answer in
            let peers = answer["peers"] as? [[String: Any]] ?? []
            var lines = [
                "node \(answer["node_id"] ?? "?") (\(answer["role"] ?? "?"))",
                "entries \(answer["entries"] ?? 0)",
                "digest \(answer["digest"] ?? "")",
            ]
            lines.append(peers.isEmpty ? "peers: none" : "peers:")
            for peer in peers {
                lines.append("  \(peer["node_id"] ?? "?")  \(peer["address"] ?? "?")  \(peer["state"] ?? "?")")
            }
            return lines.joined(separator: "\n")
        }
    }
}
