/// One `pointmesh` subcommand.
protocol Command: Sendable {
    static var name: String { get }
    static var summary: String { get }
    static var usage: String { get }
    static var valued: Set<String> { get }
    static var switches: Set<String> { get }
    /// Runs with parsed arguments; returns the exit status.
    static func run(_ arguments: CommandLineArguments) throws -> Int32
}

/// The commands `pointmesh` knows, in the order `--help` lists them.
let commands: [any Command.Type] = [
    ServeCommand.self, EarnCommand.self, RefundCommand.self, RedeemCommand.self, BalanceCommand.self,
    HistoryCommand.self, StatusCommand.self, RetireCommand.self, VerifyCommand.self, BenchCommand.self, OpenAPICommand.self,
]
