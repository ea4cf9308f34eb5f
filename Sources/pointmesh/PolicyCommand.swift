import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh policy expiry set|show`: publishes and lists expiry policy versions.
enum PolicyCommand: Command {
    static let name = "policy"
    static let summary = "publish or show the expiry policy"
    static let version = Option("version", .value("ID"), "with set: the version's id")
    static let months = Option("months", .value("N"), "with set: points expire at the end of the Nth full month after the month they were earned in")
    static let days = Option("days", .value("N"), "with set: points expire N days after they were earned")
    static let effective = Option("effective", .value("TIME"), "with set: from when (RFC 3339, e.g. 2026-03-01T00:00:00Z)")
    static let options: [Option] = [version, months, days, effective] + NodeClient.options
    static let forms = ["expiry show [options]", "expiry set --version ID (--months N | --days N) --effective TIME [options]"]
    static let description = """
        `show` lists every published version and the one in force. `set` publishes a version
        (--version, one of --months or --days, --effective): from TIME on, points earned expire
        under it. Points already earned keep their expiry. A version that shortens validity is
        refused unless TIME is at least 30 days away.
        """
    static let epilogue = NodeClient.exitStatuses
    static let positionals = 2

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        guard arguments.positional.first == "expiry" else { throw UsageError(message: "say which policy: `policy expiry show` or `policy expiry set`") }
        let node = try NodeClient(arguments)
        switch arguments.positional.dropFirst().first {
        case "show":
            return try node.call("GET", "/v1/policies/expiry") { answer in
                let inForce = answer.object["in_force"]?.objectValue ?? [:]
                let rows = (answer.object["versions"]?.arrayValue ?? []).map { version in
                    [version["version_id"]?.stringValue ?? "", version["description"]?.stringValue ?? "",
                     version["effective_at"]?.stringValue ?? "always", version["published_at"]?.stringValue ?? "built in",
                     version["version_id"]?.stringValue == inForce["version_id"]?.stringValue ? "in force" : ""]
                }
                return Table.render(header: ["VERSION", "RULE", "EFFECTIVE", "PUBLISHED", ""], rows: rows).joined(separator: "\n")
            }
        case "set":
            var body: [String: JSONValue] = ["version_id": .string(try arguments.required(Self.version)), "effective_at": .string(try arguments.required(Self.effective))]
            switch (try arguments.integer(Self.months), try arguments.integer(Self.days)) {
            case (let months?, nil): body["rule"] = .string("months_end"); body["months"] = .integer(months)
            case (nil, let days?): body["rule"] = .string("days"); body["days"] = .integer(days)
            default: throw UsageError(message: "give exactly one of --months N and --days N")
            }
            return try node.call("PUT", "/v1/policies/expiry", body: body) { answer in
                let what = "expiry policy \(answer.string("version_id")) (\(answer.string("description"))) from \(answer.string("effective_at"))"
                return answer.replayed ? "\(what) was \(answer.replayNote); nothing changed" : "published \(what)"
            }
        default:
            throw UsageError(message: "`policy expiry` takes `show` or `set`")
        }
    }
}
