import Foundation
import PointMeshNode

/// The width of the command names in the top help: the longest name and two spaces.
let commandColumn = (commands.map { $0.name.count }.max() ?? 0) + 2

let topUsage = """
    pointmesh: an offline-first loyalty-points ledger node and its client.

    Usage: pointmesh <command> [options]

    Commands:
    \(commands.map { "  \($0.name.padding(toLength: commandColumn, withPad: " ", startingAt: 0))\($0.summary)" }.joined(separator: "\n"))

    Run `pointmesh <command> --help` for a command's options; `pointmesh --version` prints
    the release.

    Exit status: 0 done; 1 refused by the node (the reason is printed); 2 usage error;
    3 node unreachable, or what answered is not a PointMesh node.
    """

func fail(usage: String, _ message: String) -> Never {
    FileHandle.standardError.write(Data("pointmesh: \(message)\n\n\(usage)\n".utf8))
    exit(ExitStatus.usage)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else { fail(usage: topUsage, "no command given") }
if name == "--help" || name == "-h" || name == "help" {
    print(topUsage)
    exit(ExitStatus.success)
}
if name == "--version" || name == "version" {
    print("pointmesh \(PointMeshVersion.current)")
    exit(ExitStatus.success)
}
guard let command = commands.first(where: { $0.name == name }) else {
    fail(usage: topUsage, "unknown command '\(name)'")
}
arguments.removeFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(command.usage)
    exit(ExitStatus.success)
}
do {
    let parsed = try CommandLineArguments(
        arguments, valued: command.valued, switches: command.switches,
        repeatable: command.repeatable, positionals: command.positionals)
    exit(try command.run(parsed))
} catch let error as UsageError {
    fail(usage: command.usage, error.message)
} catch {
    FileHandle.standardError.write(Data("pointmesh \(name): \(error)\n".utf8))
    exit(ExitStatus.refused)
}
