import Foundation
import PointMeshCommandLine

/// `pointmesh compensate`: an audited compensation batch of any size, sent in parts of at most
/// 1,000 accounts with progress, each part idempotent (so rerunning a batch that was cut off
/// completes it without applying any part twice).
enum CompensateCommand: Command {
    static let name = "compensate"
    static let summary = "extend expiry or grant points to compensate customers"
    static let usage = """
        Usage: pointmesh compensate --batch ID --reason TEXT --reference TEXT
                                    (--extend-days N --expiring-from TIME --expiring-to TIME
                                     | --grant-points N)
                                    [--accounts ID,ID,... | --accounts-file FILE] [--node URL] [--json]

        Compensates customers for the chain's own fault, recorded with the reason and the
        reference (an incident or decision id) in every account's history.
          --extend-days N    lots expiring between --expiring-from and --expiring-to (RFC 3339)
                             get N more days; without accounts, every account holding such lots
          --grant-points N   each listed account gets N points as a new lot
          --accounts-file F  one account id per line
        A batch of more than 1,000 accounts is sent in numbered parts; progress goes to standard
        error. Rerunning the same batch with the same accounts completes it: parts already
        recorded are not applied again.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union([
        "batch", "reason", "reference", "extend-days", "expiring-from", "expiring-to", "grant-points", "accounts", "accounts-file",
    ])
    static let switches = NodeClient.switches
    /// Accounts per request: a part is one commit (about 3 ms for 200 accounts here), so the
    /// node's other writes never wait long behind it.
    static let partSize = 200

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        var base: [String: Any] = [
            "batch_id": try arguments.required("batch"), "reason": try arguments.required("reason"), "reference": try arguments.required("reference"),
        ]
        let extend = try arguments.integer("extend-days"), grant = try arguments.integer("grant-points")
        switch (extend, grant) {
        case (let days?, nil):
            base["action"] = "extend_expiry"
            base["days"] = days
            base["expiring_from"] = try arguments.required("expiring-from")
            base["expiring_to"] = try arguments.required("expiring-to")
        case (nil, let points?):
            base["action"] = "grant"
            base["points"] = points
        default:
            throw UsageError(message: "give exactly one of --extend-days N and --grant-points N")
        }
        var accounts = try listedAccounts(arguments)
        do {
            if accounts.isEmpty {
                guard extend != nil else { throw UsageError(message: "--grant-points needs --accounts or --accounts-file") }
                accounts = try accountsWithLots(node, from: base["expiring_from"] as? String ?? "", to: base["expiring_to"] as? String ?? "")
                progress("\(accounts.count) accounts hold lots expiring in the range")
            }
            let parts = stride(from: 0, to: max(accounts.count, 1), by: partSize).map { Array(accounts[$0..<min(accounts.count, $0 + partSize)]) }
            var affected = 0, points = 0, answers: [String] = []
            for (index, part) in parts.enumerated() {
                var body = base
                body["accounts"] = part
                if parts.count > 1 { body["part"] = index + 1 }
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
                print("compensation \(base["batch_id"] ?? ""): \(affected) accounts affected, \(what)")
            }
            return ExitStatus.success
        } catch let failure as NodeClient.Failure {
            return node.report(failure)
        }
    }

    private static func listedAccounts(_ arguments: CommandLineArguments) throws -> [String] {
        if let list = arguments.value("accounts") {
            guard arguments.value("accounts-file") == nil else { throw UsageError(message: "give --accounts or --accounts-file, not both") }
            return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard let file = arguments.value("accounts-file") else { return [] }
        guard let data = FileManager.default.contents(atPath: file) else { throw UsageError(message: "cannot read --accounts-file \(file)") }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Every account holding lots expiring in the range, from the node's lot listing.
    private static func accountsWithLots(_ node: NodeClient, from: String, to: String) throws -> [String] {
        var seen = Set<String>(), after = ""
        repeat {
            let answer = try node.send("GET", "/v1/lots?expiring_from=\(from.urlPathEscaped)&expiring_to=\(to.urlPathEscaped)&limit=1000&after=\(after.urlPathEscaped)")
            for lot in answer.object["lots"] as? [[String: Any]] ?? [] { if let account = lot["account_id"] as? String { seen.insert(account) } }
            after = answer.object["next_cursor"] as? String ?? ""
        } while !after.isEmpty
        return seen.sorted()
    }

    private static func progress(_ line: String) {
        FileHandle.standardError.write(Data("pointmesh compensate: \(line)\n".utf8))
    }
}
