import Foundation

let topUsage = """
    pointmesh: an offline-first loyalty-points ledger node and its client.

    Usage: pointmesh <command> [options]

    Commands:
    \(commands.map { "  \($0.name.padding(toLength: 10, withPad: " ", startingAt: 0))\($0.summary)" }.joined(separator: "\n"))

    Run `pointmesh <command> --help` for a command's options.
    """

func fail(usage: String, _ message: String) -> Never {
    FileHandle.standardError.write(Data("pointmesh: \(message)\n\n\(usage)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else { fail(usage: topUsage, "no command given") }
if name == "--help" || name == "-h" || name == "help" {
    print(topUsage)
    exit(0)
}
guard let command = commands.first(where: { $0.name == name }) else {
    fail(usage: topUsage, "unknown command '\(name)'")
}
arguments.removeFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(command.usage)
    exit(0)
}
do {
    let parsed = try CommandLineArguments(arguments, valued: command.valued, switches: command.switches)
    exit(try command.run(parsed))
} catch let error as UsageError {
    fail(usage: command.usage, error.message)
} catch {
    FileHandle.standardError.write(Data("pointmesh \(name): \(error)\n".utf8))
    exit(1)
}
