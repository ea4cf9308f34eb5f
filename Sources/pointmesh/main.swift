import PointMeshCommandLine
import PointMeshNode

/// What a store, HQ or an operator runs, in the order `--help` lists them. The benchmarks are
/// a separate program, `pointmesh-bench`.
let commands: [any Command.Type] = [
    ServeCommand.self, EarnCommand.self, RefundCommand.self, RedeemCommand.self, TransferCommand.self, FamilyCommand.self, BalanceCommand.self,
    HistoryCommand.self, PolicyCommand.self, RemindersCommand.self, CompensateCommand.self, FreezeCommand.self, UnfreezeCommand.self,
    DeductCommand.self, CampaignCommand.self, RewardCommand.self, BudgetCommand.self, StatusCommand.self, RetireCommand.self,
    ReportCommand.self, ExportCommand.self, VerifyCommand.self, TokenCommand.self, TLSCommand.self, OpenAPICommand.self,
]

CommandLineTool(
    name: "pointmesh",
    summary: "an offline-first loyalty-points ledger node and its client.",
    commands: commands,
    epilogue: """
        Exit status: 0 done; 1 refused by the node (the reason is printed); 2 usage error;
        3 node unreachable, or what answered is not a PointMesh node.
        """,
    version: PointMeshVersion.current
).main(Array(CommandLine.arguments.dropFirst()))
