import Foundation
import PointMeshCore
import PointMeshJSON
import Synchronization

/// Log lines on standard error, one per event: by default one JSON object per line (`time`,
/// `level`, `message`, and fields such as `node`, `peer`, `request_id`, `status`,
/// `duration_ms`), for a log collector; `--log-format text` prints
/// `2026-11-24T05:00:00.123Z info message key=value` for a terminal. Passed into what needs it
/// rather than reached globally, so tests can capture or silence it.
public struct Logger: Sendable {
    public enum Level: String, CaseIterable, Comparable, Sendable {
        case debug, info, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool {
            (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
        }
    }

    public enum Format: String, Sendable { case json, text }

    private let sink: @Sendable (String) -> Void
    /// The clock each line's time is read on: the node's, so a rehearsal's log lines and its
    /// entries tell the same time.
    private let clock: NodeClock
    public let format: Format
    public let minimum: Level
    /// Fields every line of this logger carries (the node's id).
    private let fields: [String: String]

    public init(format: Format = .json, minimum: Level = .info, fields: [String: String] = [:], clock: NodeClock = .system(),
                sink: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.format = format
        self.minimum = minimum
        self.fields = fields
        self.sink = sink
    }

    /// Whole lines to standard error, one writer at a time. Written with `write(2)`, whose
    /// failure is ignored: standard error redirected to a full disk must cost log lines, not
    /// the node (`FileHandle.write` traps on an error).
    public static func standardError(format: Format = .json, minimum: Level = .info, clock: NodeClock = .system()) -> Logger {
        let lock = Mutex(())
        return Logger(format: format, minimum: minimum, clock: clock) { line in
            let bytes = Array((line + "\n").utf8)
            lock.withLock { _ in
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
                    if written > 0 { offset += written } else if written < 0, errno == EINTR { continue } else { return }
                }
            }
        }
    }

    /// This logger with `more` fields on every line.
    public func with(_ more: [String: String]) -> Logger {
        Logger(format: format, minimum: minimum, fields: fields.merging(more) { _, new in new }, clock: clock, sink: sink)
    }

    public func isEnabled(_ level: Level) -> Bool { level >= minimum }

    public func log(_ level: Level, _ message: String, _ extra: [String: String] = [:]) {
        guard isEnabled(level) else { return }
        let time = RFC3339.format(milliseconds: clock.now())
        let all = fields.merging(extra) { _, new in new }
        switch format {
        case .json:
            var object: [String: JSONValue] = ["time": .string(time), "level": .string(level.rawValue), "message": .string(message)]
            for (key, value) in all { object[key] = .string(value) }
            sink(JSONValue.object(object).serialized)
        case .text:
            let suffix = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            sink("\(time) \(level.rawValue) \(message)\(suffix)")
        }
    }

    public func debug(_ message: String, _ extra: [String: String] = [:]) { log(.debug, message, extra) }
    public func info(_ message: String, _ extra: [String: String] = [:]) { log(.info, message, extra) }
    public func warning(_ message: String, _ extra: [String: String] = [:]) { log(.warning, message, extra) }
    public func error(_ message: String, _ extra: [String: String] = [:]) { log(.error, message, extra) }
}
