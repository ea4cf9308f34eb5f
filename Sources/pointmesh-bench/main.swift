import PointMeshCommandLine
import PointMeshNode

/// The benchmarks of docs/benchmarks.md, in the order `--help` lists them.
let benchmarks: [any Command.Type] = [
    WritesBench.self, CampaignBench.self, WriterBench.self, BudgetBench.self, AccountReadBench.self, CompensationBench.self,
    DisseminationBench.self, CatchUpBench.self, IdleBench.self, ReportsBench.self, RightsBench.self,
]

CommandLineTool(
    name: "pointmesh-bench",
    summary: "the benchmarks of docs/benchmarks.md, each against a baseline measured in the same run.",
    commands: benchmarks,
    epilogue: """
        The nodes a benchmark starts run the `pointmesh` built beside this program, unless
        --node-binary names another. Exit status: 0 done; 1 the run failed; 2 usage error.
        """,
    version: PointMeshVersion.current
).main(Array(CommandLine.arguments.dropFirst()))
