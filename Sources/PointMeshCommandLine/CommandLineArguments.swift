/// A usage error: the CLI prints it with the command's usage and exits 2.
public struct UsageError: Error {
    public var message: String

    public init(message: String) {
        self.message = message
    }
}

/// Flags after the command name: `--name value`, `--name=value`, repeatable, and switches.
public struct CommandLineArguments {
    public private(set) var values: [String: [String]] = [:]
    public private(set) var switches: Set<String> = []
    public private(set) var positional: [String] = []

    /// - Parameters:
    ///   - valued: flags that take a value.
    ///   - switches: flags that take none.
    ///   - repeatable: valued flags that may be given more than once; any other given twice is
    ///     a usage error (the last silently winning would hide a typo).
    ///   - positionals: how many bare arguments the command takes; more is a usage error.
    public init(_ arguments: [String], valued: Set<String>, switches allowedSwitches: Set<String>,
         repeatable: Set<String> = [], positionals: Int = 0) throws(UsageError) {
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
            if allowedSwitches.contains(name) {
                guard inlineValue == nil else { throw UsageError(message: "--\(name) takes no value") }
                guard switches.insert(name).inserted else { throw UsageError(message: "--\(name) given twice") }
            } else if valued.contains(name) {
                if values[name] != nil, !repeatable.contains(name) {
                    throw UsageError(message: "--\(name) given twice; it takes one value")
                }
                if let inlineValue {
                    values[name, default: []].append(inlineValue)
                } else {
                    guard index < arguments.count else { throw UsageError(message: "--\(name) needs a value") }
                    values[name, default: []].append(arguments[index])
                    index += 1
                }
            } else {
                throw UsageError(message: "unknown option --\(name)")
            }
        }
    }

    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { switches.contains(name) }

    public func required(_ name: String) throws(UsageError) -> String {
        guard let value = value(name) else { throw UsageError(message: "--\(name) is required") }
        return value
    }

    public func integer(_ name: String) throws(UsageError) -> Int64? {
        guard let text = value(name) else { return nil }
        guard let number = Int64(text) else { throw UsageError(message: "--\(name) must be an integer, got '\(text)'") }
        return number
    }
}
