import Foundation

/// `pointmesh balance`: looks up an account.
enum BalanceCommand: Command {
    static let name = "balance"
    static let summary = "show an account's balance"
    static let usage = """
        Usage: pointmesh balance --account ID [--node URL] [--json]

        Shows the account's balance (0 for an account never seen) and any debt.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["account"])
    static let switches = NodeClient.switches

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let account = try arguments.required("account")
        return try node.call("GET", "/v1/accounts/\(account.urlPathEscaped)") { answer in
            let debt = answer.int("debt")
            return "\(answer.string("account_id")): \(answer.int("balance")) points" + (debt > 0 ? " (debt \(debt))" : "")
        }
    }
}

extension String {
    /// Escapes everything outside the id alphabet, so a bad id reaches the node and is refused there.
    var urlPathEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "._:-"))) ?? self
    }
}
