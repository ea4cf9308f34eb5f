import Foundation
import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh reminders`: who to remind of points about to expire, and acknowledging what a
/// channel sent.
enum RemindersCommand: Command {
    static let name = "reminders"
    static let summary = "list points about to expire, or acknowledge reminders sent"
    static let within = Option("within", .value("DAYS"), "list points expiring within DAYS")
    static let jsonl = Option("jsonl", "one JSON object per line, for an SMS/app channel")
    static let options: [Option] = [within, jsonl] + NodeClient.options
    static let forms = ["--within DAYS [options]", "ack FILE [options]"]
    static let description = """
        Lists every account with spendable points expiring within DAYS, with the points and
        when they expire, by account (all pages). Reminders acknowledged for the same DAYS are
        left out, on every node: `ack FILE` acknowledges the JSON lines in FILE (as --jsonl
        printed them; `-` reads standard input), so the next run skips them. A later run with a
        smaller DAYS (7 after 30) lists the same points again, as a second reminder.
        """
    static let epilogue = NodeClient.exitStatuses
    static let positionals = 2
    /// Acknowledgements per request.
    static let ackBatch = 1_000

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        if arguments.positional.first == "ack" {
            guard let file = arguments.positional.dropFirst().first else { throw UsageError(message: "`reminders ack` needs a FILE of JSON lines") }
            return try acknowledge(file, node: node)
        }
        guard arguments.positional.isEmpty else { throw UsageError(message: "unexpected argument '\(arguments.positional[0])'") }
        guard let within = try arguments.integer(Self.within) else { throw UsageError(message: "--within DAYS is required") }
        var after = "", all: [JSONValue] = []
        do {
            repeat {
                let answer = try node.send("GET", "/v1/reminders?within_days=\(within)&limit=1000&after=\(after.urlPathEscaped)")
                all += answer.object["reminders"]?.arrayValue ?? []
                after = answer.object["next_cursor"]?.stringValue ?? ""
            } while !after.isEmpty
        } catch let failure as NodeClient.Failure {
            return node.report(failure)
        }
        if arguments.has(Self.jsonl) {
            for reminder in all { print(reminder.serialized) }
        } else if node.json {
            print(JSONValue.object(["reminders": .array(all), "within_days": .integer(Int64(within))]).serialized)
        } else if all.isEmpty {
            print("no points expire within \(within) days (or every reminder was acknowledged)")
        } else {
            let rows = all.map { [$0["account_id"]?.stringValue ?? "", String($0["points"]?.integerValue ?? 0), $0["expires_at"]?.stringValue ?? ""] }
            print(Table.render(header: ["ACCOUNT", "POINTS", "EXPIRES"], rows: rows).joined(separator: "\n"))
        }
        return ExitStatus.success
    }

    private static func acknowledge(_ file: String, node: NodeClient) throws -> Int32 {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data else { throw UsageError(message: "cannot read \(file)") }
        var reminders: [[String: JSONValue]] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).enumerated() {
            guard let object = (try? JSONParser.parse(Array(line.utf8)))?.objectValue,
                  let account = object["account_id"], let expires = object["expires_at"], let within = object["within_days"]
            else { throw UsageError(message: "\(file) line \(number + 1) is not a reminder as `reminders --jsonl` prints it") }
            reminders.append(["account_id": account, "expires_at": expires, "within_days": within])
        }
        var done = 0
        do {
            while done < reminders.count {
                let batch = Array(reminders[done..<min(reminders.count, done + ackBatch)])
                _ = try node.send("POST", "/v1/reminders/acks", body: ["request_id": .string(generatedRequestID()), "reminders": .array(batch.map(JSONValue.object))])
                done += batch.count
            }
        } catch let failure as NodeClient.Failure {
            FileHandle.standardError.write(Data("pointmesh: \(done) of \(reminders.count) reminders acknowledged before this failure\n".utf8))
            return node.report(failure)
        }
        print("acknowledged \(done) reminders")
        return ExitStatus.success
    }
}
