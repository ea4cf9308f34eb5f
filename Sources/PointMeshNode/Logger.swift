import Foundation
import PointMeshCore
import Synchronization

/// Log lines on standard error: `2026-11-24T05:00:00.123Z info message`. Passed into what
/// needs it rather than reached globally, so tests can capture or silence it.
public struct Logger: Sendable {
    public enum Level: String, Sendable { case info, warning, error }

    private let sink: @Sendable (String) -> Void

    public init(sink: @escaping @Sendable (String) -> Void) {
        self.sink = sink
    }

    /// Writes whole lines to standard error, one writer at a time.
    public static let standardError: Logger = {
        let lock = Mutex(())
        return Logger { line in
            lock.withLock { _ in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }()

    public func log(_ level: Level, _ message: String) {
        sink("\(RFC3339.format(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))) \(level.rawValue) \(message)")
    }

    public func info(_ message: String) { log(.info, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func error(_ message: String) { log(.error, message) }
}
