import Foundation
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

/// RFC 3339 timestamps in UTC with milliseconds, as the API and logs print them.
public enum RFC3339 {
    public static func format(milliseconds: Int64) -> String {
        let seconds = time_t(milliseconds.floorDivided(by: 1000))
        var parts = tm()
        var copy = seconds
        gmtime_r(&copy, &parts)
        let millis = Int(milliseconds - Int64(seconds) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
