/// A usage error: the CLI prints it with the command's usage and exits 2.
public struct UsageError: Error {
    public var message: String

    public init(message: String) {
        self.message = message
    }
}

/// Flags after the command name, parsed against the command's declared options: `--name
/// value`, `--name=value`, repeatable values, and switches. An option given twice that may
/// not repeat is a usage error (the last silently winning would hide a typo), and so is a
/// required option left out.
public struct CommandLineArguments {
    private var values: [String: [String]] = [:]
    private var switches: Set<String> = []
    public private(set) var positional: [String] = []

    /// - Parameter positionals: how many bare arguments the command takes; more is a usage error.
    public init(_ arguments: [String], options: [Option], positionals: Int = 0) throws(UsageError) {
        var declared: [String: Option] = [:]
        for option in options {
            // A build error, caught by the help test of every command: one name, one declaration.
            guard declared.updateValue(option, forKey: option.name) == nil else {
                throw UsageError(message: "--\(option.name) is declared twice by this command")
            }
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                guard positional.count < positionals else {
                    throw UsageError(message: "unexpected argument '\(argument)'" + (argument.hasPrefix("-") ? " (options start with --)" : ""))
                }
                positional.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            let takes = declared[name]?.takes
            switch takes {
            case .nothing:
                guard inlineValue == nil else { throw UsageError(message: "--\(name) takes no value") }
                guard switches.insert(name).inserted else { throw UsageError(message: "--\(name) given twice") }
            case .value, .values:
                if values[name] != nil, case .value = takes {
                    throw UsageError(message: "--\(name) given twice; it takes one value")
                }
                if let inlineValue {
                    values[name, default: []].append(inlineValue)
                } else {
                    guard index < arguments.count else { throw UsageError(message: "--\(name) needs a value") }
                    values[name, default: []].append(arguments[index])
                    index += 1
                }
            case nil:
                throw UsageError(message: "unknown option --\(name)")
            }
        }
        for option in options where option.isRequired && values[option.name] == nil && !switches.contains(option.name) {
            throw UsageError(message: "\(option.spelled) is required")
        }
    }

    public func value(_ option: Option) -> String? { values[option.name]?.last }
    public func all(_ option: Option) -> [String] { values[option.name] ?? [] }
    public func has(_ option: Option) -> Bool { switches.contains(option.name) }

    /// The value of an option this form of the command needs.
    public func required(_ option: Option) throws(UsageError) -> String {
        guard let value = value(option) else { throw UsageError(message: "--\(option.name) is required") }
        return value
    }

    public func integer(_ option: Option) throws(UsageError) -> Int64? {
        guard let text = value(option) else { return nil }
        guard let number = Int64(text) else { throw UsageError(message: "--\(option.name) must be an integer, got '\(text)'") }
        return number
    }

    /// The integer value of an option this form of the command needs.
    public func requiredInteger(_ option: Option) throws(UsageError) -> Int64 {
        guard let number = try integer(option) else { throw UsageError(message: "--\(option.name) is required") }
        return number
    }

    /// Every option given, with its values (a switch with none), for a command that also
    /// reads the same options from a file (`serve --config`).
    public var given: [String: [String]] {
        var all = values
        for name in switches { all[name] = [] }
        return all
    }
}
