import Foundation
import PointMeshCommandLine
import PointMeshJSON
import PointMeshCore
import PointMeshNode

/// `pointmesh token create`: a new random bearer token, and the line for the tokens file.
enum TokenCommand: Command {
    static let name = "token"
    static let summary = "create a bearer token for a node's tokens file"
    static let tokenName = Option("name", .value("NAME"), required: true, "identifies the token in every write's history (e.g. store-12-till-3)")
    static let role = Option("role", .value("clerk|hq|admin"), required: true, "what the token may do")
    static let options: [Option] = [tokenName, role]
    static let forms = ["create --name NAME --role clerk|hq|admin"]
    static let description = """
        Prints a new random token (give it to the till, script or person it is for; it is
        shown once) and the entry to add to the node's --tokens-file, which keeps only its
        SHA-256. Roles: clerk (earn, refund, redeem, look-ups), hq (policies, reminders, reports,
        every read), admin (compensation, retiring nodes, and everything hq may do).
        """
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        guard arguments.positional.first == "create" else { throw UsageError(message: "say `token create`") }
        let name = try arguments.required(Self.tokenName)
        guard (try? IdentifierError.check(name)) != nil else { throw UsageError(message: "--name must be 1-128 of A-Z a-z 0-9 . _ : -") }
        let roleName = try arguments.required(Self.role)
        guard let role = Role(rawValue: roleName) else { throw UsageError(message: "--role must be clerk, hq or admin, got '\(roleName)'") }
        let (token, hash) = AccessTokens.newToken()
        let entry = JSONValue.object(["name": .string(name), "role": .string(role.rawValue), "token_sha256": .string(hash)])
        print("token: \(token)")
        print("tokens file entry: \(entry.serialized)")
        return ExitStatus.success
    }
}
