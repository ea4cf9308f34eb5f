/// One `pointmesh` subcommand.
protocol Command: Sendable {
    static var name: String { get }
    static var summary: String { get }
    static var usage: String { get }
    static var valued: Set<String> { get }
    static var switches: Set<String> { get }
    /// Valued flags that may be given more than once.
    static var repeatable: Set<String> { get }
    /// Bare arguments the command takes (a benchmark's name); none by default.
    static var positionals: Int { get }
    /// Runs with parsed arguments; returns the exit status.
    static func run(_ arguments: CommandLineArguments) throws -> Int32
}

extension Command {
    static var repeatable: Set<String> { [] }
    static var positionals: Int { 0 }
}

/// Exit statuses, the same for every command (documented in `--help` and docs/operations.md).
enum ExitStatus {
    /// Done.
    static let success: Int32 = 0
    /// The node refused the request (or `verify` found problems, a node failed to start).
    static let refused: Int32 = 1
    /// The command line was wrong.
    static let usage: Int32 = 2
    /// The node could not be reached in time, or what answered is not a PointMesh node.
    static let unreachable: Int32 = 3
}

/// The commands `pointmesh` knows, in the order `--help` lists them.
let commands: [any Command.Type] = [
    ServeCommand.self, EarnCommand.self, RefundCommand.self, RedeemCommand.self, TransferCommand.self, FamilyCommand.self, BalanceCommand.self,
    HistoryCommand.self, PolicyCommand.self, RemindersCommand.self, CompensateCommand.self, FreezeCommand.self, UnfreezeCommand.self,
    DeductCommand.self, CampaignCommand.self, RewardCommand.self, BudgetCommand.self, StatusCommand.self, RetireCommand.self,
    VerifyCommand.self, TokenCommand.self, BenchCommand.self, OpenAPICommand.self,
]
