import Foundation
import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh compensate`: an audited compensation batch of any size, sent in parts of at most
/// 1,000 accounts with progress, each part idempotent (so rerunning a batch that was cut off
/// completes it without applying any part twice).
enum CompensateCommand: Command {
    static let name = "compensate"
    static let summary = "extend expiry or grant points to compensate customers"
    static let batch = Option("batch", .value("ID"), required: true, "the batch; rerunning it with the same accounts completes it")
    static let reason = Option("reason", .value("TEXT"), required: true, "why, shown in every account's history")
    static let reference = Option("reference", .value("TEXT"), required: true, "an incident or decision id")
    static let extendDays = Option("extend-days", .value("N"), "lots expiring between --expiring-from and --expiring-to get N more days; without accounts, every account holding such lots")
    static let expiringFrom = Option("expiring-from", .value("TIME"), "with --extend-days: the range's start (RFC 3339)")
    static let expiringTo = Option("expiring-to", .value("TIME"), "with --extend-days: the range's end (RFC 3339)")
    static let grantPoints = Option("grant-points", .value("N"), "each listed account gets N points as a new lot")
    static let accounts = Option("accounts", .value("ID,ID,..."), "the accounts")
    static let accountsFile = Option("accounts-file", .value("FILE"), "the accounts, one id per line")
    static let options: [Option] = [batch, reason, reference, extendDays, expiringFrom, expiringTo, grantPoints, accounts, accountsFile] + NodeClient.options
    static let description = """
        Compensates customers for the chain's own fault, recorded with the reason and the
        reference in every account's history: --extend-days (with the range) or --grant-points.
        A batch of more than 1,000 accounts is sent in numbered parts; progress goes to standard
        error. Rerunning the same batch with the same accounts completes it: parts already
        recorded are not applied again.
        """
    static let epilogue = NodeClient.exitStatuses
    /// Accounts per request: a part is one commit (about 3 ms for 200 accounts here), so the
    /// node's other writes never wait long behind it.
    static let partSize = 200

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        var base: [String: JSONValue] = [
            "batch_id": .string(try arguments.required(Self.batch)), "reason": .string(try arguments.required(Self.reason)),
            "reference": .string(try arguments.required(Self.reference)),
        ]
        let extend = try arguments.integer(Self.extendDays), grant = try arguments.integer(Self.grantPoints)
        switch (extend, grant) {
        case (let days?, nil):
            base["action"] = .string("extend_expiry")
            base["days"] = .integer(days)
            base["expiring_from"] = .string(try arguments.required(Self.expiringFrom))
            base["expiring_to"] = .string(try arguments.required(Self.expiringTo))
        case (nil, let points?):
            base["action"] = .string("grant")
            base["points"] = .integer(points)
        default:
            throw UsageError(message: "give exactly one of --extend-days N and --grant-points N")
        }
        var accounts = try listedAccounts(arguments)
        do {
            if accounts.isEmpty {
                guard extend != nil else { throw UsageError(message: "--grant-points needs --accounts or --accounts-file") }
                accounts = try accountsWithLots(node, from: base["expiring_from"]?.stringValue ?? "", to: base["expiring_to"]?.stringValue ?? "")
                progress("\(accounts.count) accounts hold lots expiring in the range")
            }
            let parts = stride(from: 0, to: max(accounts.count, 1), by: partSize).map { Array(accounts[$0..<min(accounts.count, $0 + partSize)]) }
            var affected: Int64 = 0, points: Int64 = 0, answers: [String] = []
            for (index, part) in parts.enumerated() {
                var body = base
                body["accounts"] = .strings(part)
                if parts.count > 1 { body["part"] = .integer(Int64(index + 1)) }
                let answer = try node.send("POST", "/v1/compensations", body: body)
                affected += answer.int("accounts_affected")
                points += answer.int("points")
                answers.append(answer.text)
                if parts.count > 1 {
                    progress("part \(index + 1)/\(parts.count)\(answer.replayed ? " (already recorded)" : ""): "
                             + "\(min(accounts.count, (index + 1) * partSize)) of \(accounts.count) accounts")
                }
            }
            if node.json {
                print(answers.count == 1 ? answers[0] : "[" + answers.joined(separator: ",") + "]")
            } else {
                let what = extend != nil ? "\(points) points had their expiry extended by \(extend ?? 0) days" : "\(points) points granted"
                print("compensation \(base["batch_id"]?.stringValue ?? ""): \(affected) accounts affected, \(what)")
            }
            return ExitStatus.success
        } catch let failure as NodeClient.Failure {
            return node.report(failure)
        }
    }

    private static func listedAccounts(_ arguments: CommandLineArguments) throws -> [String] {
        if let list = arguments.value(Self.accounts) {
            guard arguments.value(Self.accountsFile) == nil else { throw UsageError(message: "give --accounts or --accounts-file, not both") }
            return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard let file = arguments.value(Self.accountsFile) else { return [] }
        guard let data = FileManager.default.contents(atPath: file) else { throw UsageError(message: "cannot read --accounts-file \(file)") }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Every account holding lots expiring in the range, from the node's lot listing.
    private static func accountsWithLots(_ node: NodeClient, from: String, to: String) throws -> [String] {
        var seen = Set<String>(), after = ""
        repeat {
            let answer = try node.send("GET", "/v1/lots?expiring_from=\(from.urlPathEscaped)&expiring_to=\(to.urlPathEscaped)&limit=1000&after=\(after.urlPathEscaped)")
            for lot in answer.object["lots"]?.arrayValue ?? [] { if let account = lot["account_id"]?.stringValue { seen.insert(account) } }
            after = answer.object["next_cursor"]?.stringValue ?? ""
        } while !after.isEmpty
        return seen.sorted()
    }

    private static func progress(_ line: String) {
        FileHandle.standardError.write(Data("pointmesh compensate: \(line)\n".utf8))
    }
}
