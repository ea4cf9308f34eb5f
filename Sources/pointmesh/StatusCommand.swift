import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh status`: a node's id, role, entry count, digest and peers.
enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show a node's status"
    static let options: [Option] = NodeClient.options
    static let description = """
        Shows the node: its id, role, release, entries, digest, health, peers, and with peers the
        chain's stable horizon and the members it waits for.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        try NodeClient(arguments).call("GET", "/v1/status") { answer in
            let object = answer.object
            var lines = [
                "node \(answer.string("node_id")) (\(answer.string("role"))), pointmesh \(object["version"]?.stringValue ?? "?")",
                "entries \(answer.int("entries"))",
                "digest \(answer.string("digest"))",
            ]
            if object["healthy"]?.boolValue == false {
                lines.append("UNHEALTHY: writes failing since \(answer.string("storage_failing_since")): \(answer.string("storage_error"))")
            }
            let peers = object["peers"]?.arrayValue ?? []
            let seeds = object["seeds"]?.arrayValue ?? []
            if peers.isEmpty && seeds.isEmpty { lines.append("peers: none") }
            if !peers.isEmpty {
                lines.append("peers:")
                lines += Table.render(header: ["NODE", "ADDRESS", "STATE", "LAG", "LAST CONTACT", "LAST ERROR"], rows: peers.map { peer in
                    [peer["node_id"]?.stringValue ?? "?", peer["address"]?.stringValue ?? "?", peer["state"]?.stringValue ?? "?",
                     (peer["lag_entries"]?.integerValue).map(String.init) ?? "-", peer["last_contact"]?.stringValue ?? "never",
                     peer["last_error"]?.stringValue ?? ""]
                }).map { "  " + $0 }
            }
            for seed in seeds {
                lines.append("seed \(seed["address"]?.stringValue ?? "?") not reached yet" + ((seed["last_error"]?.stringValue).map { ": \($0)" } ?? ""))
            }
            let waitsFor = (object["stable_horizon_waits_for"]?.arrayValue ?? []).compactMap(\.stringValue)
            // A node alone has no chain to wait for but itself: the line is for a node with peers.
            if !waitsFor.isEmpty, !peers.isEmpty {
                let horizon = object["stable_horizon"]?.stringValue ?? "unknown"
                lines.append("stable horizon \(horizon), waiting for \(waitsFor.joined(separator: ", "))")
            }
            return lines.joined(separator: "\n")
        }
    }
}
