import Foundation
import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh balance`: looks up an account.
enum BalanceCommand: Command {
    static let name = "balance"
    static let summary = "show an account's balance"
    static let account = Option("account", .value("ID"), required: true, "the customer's account")
    static let options: [Option] = [account] + NodeClient.options
    static let description = """
        Shows the account's spendable balance (0 for an account never seen), any debt and
        pending points, points expired so far, the next points to expire, and the expiry policy.
        """
    static let epilogue = NodeClient.exitStatuses

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let account = try arguments.required(Self.account)
        return try node.call("GET", "/v1/accounts/\(account.urlPathEscaped)") { answer in
            let debt = answer.int("debt"), pending = answer.int("pending"), expired = answer.int("expired_total")
            var extras: [String] = []
            if answer.int("green_balance") > 0 { extras.append("\(answer.int("green_balance")) green") }
            if debt > 0 { extras.append("debt \(debt)") }
            if pending > 0 { extras.append("\(pending) pending until \(answer.string("pending_until"))") }
            if expired > 0 { extras.append("\(expired) expired") }
            var lines = ["\(answer.string("account_id")): \(answer.int("balance")) points" + (extras.isEmpty ? "" : " (\(extras.joined(separator: ", ")))")]
            for lot in answer.object["expiring"]?.arrayValue ?? [] {
                lines.append("  \(lot["points"]?.integerValue ?? 0) expire at \(lot["expires_at"]?.stringValue ?? "?")")
            }
            if let policy = answer.object["policy"]?.objectValue {
                lines.append("expiry policy: \(policy["description"]?.stringValue ?? "?") (version \(policy["version_id"]?.stringValue ?? "?"))")
            }
            return lines.joined(separator: "\n")
        }
    }
}

extension String {
    /// Escapes everything outside the id alphabet, so a bad id reaches the node and is refused there.
    var urlPathEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "._:-"))) ?? self
    }
}
