/// One subcommand of a command-line tool (`pointmesh earn`, `pointmesh-bench writes`).
public protocol Command: Sendable {
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
    public static var repeatable: Set<String> { [] }
    public static var positionals: Int { 0 }
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
