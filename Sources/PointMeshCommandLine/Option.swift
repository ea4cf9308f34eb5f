import Foundation

/// One command-line option, declared once: its name, what it takes, whether it is required,
/// and its help. A command's `options` drive parsing (which flags take a value, which may
/// repeat, which are unknown), the help's synopsis and option rows, and the `required` check;
/// a command reads a value through the declaration (`arguments.value(Self.account)`), so no
/// option is named in two places (as swift-argument-parser's `@Option`).
public struct Option: Sendable, Hashable {
    public enum Takes: Sendable, Hashable {
        /// A switch: present or not.
        case nothing
        /// One value, named in the help by the placeholder (`--data DIR`).
        case value(String)
        /// A value that may be given more than once (`--seed HOST:PORT`, repeatable).
        case values(String)
    }

    /// The name without dashes.
    public let name: String
    public let takes: Takes
    public let isRequired: Bool
    public let help: String

    public init(_ name: String, _ takes: Takes, required: Bool = false, _ help: String) {
        self.name = name
        self.takes = takes
        self.isRequired = required
        self.help = help
    }

    /// A switch.
    public init(_ name: String, _ help: String) {
        self.init(name, .nothing, help)
    }

    /// `--name` and its placeholder, as the synopsis and the rows show it.
    public var spelled: String {
        switch takes {
        case .nothing: "--\(name)"
        case .value(let placeholder), .values(let placeholder): "--\(name) \(placeholder)"
        }
    }

    /// The help's rows for `options`: each spelled in one column, its help beside it, wrapped.
    public static func rows(_ options: [Option], width: Int = 96) -> String {
        let column = min(30, (options.map(\.spelled.count).max() ?? 0) + 4)
        return options.map { option in
            let head = "  " + option.spelled
            var words = option.help.split(separator: " ").map(String.init)
            if case .values = option.takes { words.append("(repeatable)") }
            var lines: [String] = [], line = head.count + 2 > column ? head + "  " : head.padding(toLength: column, withPad: " ", startingAt: 0)
            var empty = true
            for word in words {
                if !empty, line.count + 1 + word.count > width {
                    lines.append(line)
                    line = String(repeating: " ", count: column)
                    empty = true
                }
                line += (empty ? "" : " ") + word
                empty = false
            }
            lines.append(line)
            return lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
