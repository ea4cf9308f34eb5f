/// One subcommand of a command-line tool (`pointmesh earn`, `pointmesh-bench writes`). Its
/// options are declared once (`Option`) and drive its parsing, its help and the check of
/// required options.
public protocol Command: Sendable {
    static var name: String { get }
    static var summary: String { get }
    /// What follows `Usage: TOOL NAME`, one line per form: by default the required options,
    /// then `[options]`. A command with words (`campaign set|withdraw`) names them here.
    static var forms: [String] { get }
    /// What the command does, after the synopsis and before the options.
    static var description: String { get }
    static var options: [Option] { get }
    /// What the help says after the options (exit statuses); nothing by default.
    static var epilogue: String { get }
    /// Bare arguments the command takes (a subcommand word); none by default.
    static var positionals: Int { get }
    /// Runs with parsed arguments; returns the exit status.
    static func run(_ arguments: CommandLineArguments) throws -> Int32
}

extension Command {
    public static var forms: [String] { [(options.filter(\.isRequired).map(\.spelled) + ["[options]"]).joined(separator: " ")] }
    public static var positionals: Int { 0 }
    public static var epilogue: String { "" }

    /// The command's help: synopsis, description, one row per option, and the epilogue.
    public static func usage(tool: String) -> String {
        let synopsis = forms.enumerated().map { index, form in (index == 0 ? "Usage: " : "       ") + "\(tool) \(name) \(form)" }
        return synopsis.joined(separator: "\n") + "\n\n" + description + (options.isEmpty ? "" : "\n\nOptions:\n" + Option.rows(options))
            + (epilogue.isEmpty ? "" : "\n\n" + epilogue)
    }
}

/// Exit statuses, the same for every command (documented in `--help` and docs/operations.md).
public enum ExitStatus {
    /// Done.
    public static let success: Int32 = 0
    /// The node refused the request (or `verify` found problems, a node failed to start).
    public static let refused: Int32 = 1
    /// The command line was wrong.
    public static let usage: Int32 = 2
    /// The node could not be reached in time, or what answered is not a PointMesh node.
    public static let unreachable: Int32 = 3
}
