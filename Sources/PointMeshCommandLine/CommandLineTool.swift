import Foundation

/// A command-line program made of subcommands (`pointmesh`, `pointmesh-bench`): its top help,
/// and the dispatch from the first argument to a command, with the exit statuses of
/// `ExitStatus` for a wrong command line or a failure.
public struct CommandLineTool: Sendable {
    public let name: String
    /// The help's first line: what the program is.
    public let summary: String
    /// The commands, in the order the help lists them.
    public let commands: [any Command.Type]
    /// The help's closing paragraphs (exit statuses, where to read more).
    public let epilogue: String
    public let version: String

    public init(name: String, summary: String, commands: [any Command.Type], epilogue: String, version: String) {
        self.name = name
        self.summary = summary
        self.commands = commands
        self.epilogue = epilogue
        self.version = version
    }

    /// The top help: every command with its summary, names in one column.
    public var usage: String {
        let column = (commands.map { $0.name.count }.max() ?? 0) + 2
        let rows = commands.map { "  \($0.name.padding(toLength: column, withPad: " ", startingAt: 0))\($0.summary)" }
        return """
            \(name): \(summary)

            Usage: \(name) <command> [options]

            Commands:
            \(rows.joined(separator: "\n"))

            Run `\(name) <command> --help` for a command's options; `\(name) --version` prints
            the release.

            \(epilogue)
            """
    }

    /// Runs the command `arguments` name (the program's name already dropped) and exits.
    public func main(_ arguments: [String]) -> Never {
        var arguments = arguments
        guard let commandName = arguments.first else { fail(usage: usage, "no command given") }
        if commandName == "--help" || commandName == "-h" || commandName == "help" {
            print(usage)
            exit(ExitStatus.success)
        }
        if commandName == "--version" || commandName == "version" {
            print("\(name) \(version)")
            exit(ExitStatus.success)
        }
        guard let command = commands.first(where: { $0.name == commandName }) else {
            fail(usage: usage, "unknown command '\(commandName)'")
        }
        arguments.removeFirst()
        let commandUsage = command.usage(tool: name)
        if arguments.contains("--help") || arguments.contains("-h") {
            print(commandUsage)
            exit(ExitStatus.success)
        }
        do {
            let parsed = try CommandLineArguments(arguments, options: command.options, positionals: command.positionals)
            exit(try command.run(parsed))
        } catch let error as UsageError {
            fail(usage: commandUsage, error.message)
        } catch {
            FileHandle.standardError.write(Data("\(name) \(commandName): \(error)\n".utf8))
            exit(ExitStatus.refused)
        }
    }

    private func fail(usage: String, _ message: String) -> Never {
        FileHandle.standardError.write(Data("\(name): \(message)\n\n\(usage)\n".utf8))
        exit(ExitStatus.usage)
    }
}
