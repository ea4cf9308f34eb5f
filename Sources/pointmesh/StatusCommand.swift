import PointMeshCommandLine

/// `pointmesh status`: a node's id, role, entry count, digest and peers.
enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show a node's status"
    static let options: [Option] = NodeClient.options
    static let description = """
        Shows the node: its id, role, release, entries, digest, health and peers.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        try NodeClient(arguments).call("GET", "/v1/status") { answer in
            let object = answer.object
            var lines = [
                "node \(answer.string("node_id")) (\(answer.string("role"))), pointmesh \(object["version"] as? String ?? "?")",
                "entries \(answer.int("entries"))",
                "digest \(answer.string("digest"))",
            ]
            if object["healthy"] as? Bool == false {
                lines.append("UNHEALTHY: writes failing since \(answer.string("storage_failing_since")): \(answer.string("storage_error"))")
            }
            let peers = object["peers"] as? [[String: Any]] ?? []
            let seeds = object["seeds"] as? [[String: Any]] ?? []
            if peers.isEmpty && seeds.isEmpty { lines.append("peers: none") }
            if !peers.isEmpty {
                lines.append("peers:")
                lines += Table.render(header: ["NODE", "ADDRESS", "STATE", "LAG", "LAST CONTACT", "LAST ERROR"], rows: peers.map { peer in
                    [peer["node_id"] as? String ?? "?", peer["address"] as? String ?? "?", peer["state"] as? String ?? "?",
                     (peer["lag_entries"] as? Int).map(String.init) ?? "-", peer["last_contact"] as? String ?? "never",
                     peer["last_error"] as? String ?? ""]
                }).map { "  " + $0 }
            }
            for seed in seeds {
                lines.append("seed \(seed["address"] as? String ?? "?") not reached yet" + ((seed["last_error"] as? String).map { ": \($0)" } ?? ""))
            }
            return lines.joined(separator: "\n")
        }
    }
}
