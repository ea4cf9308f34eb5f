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
        // Built by hand: write responses render this on the writer thread, where
        // `String(format:)` cost more than the rest of the response.
        var text = ""
        text.reserveCapacity(24)
        func append(_ value: Int, digits: Int) {
            var divisor = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.unicodeScalars.append(Unicode.Scalar(UInt8(48 + rest / divisor % 10)))
                rest %= divisor
                divisor /= 10
            }
        }
        append(Int(parts.tm_year) + 1900, digits: 4); text += "-"
        append(Int(parts.tm_mon) + 1, digits: 2); text += "-"
        append(Int(parts.tm_mday), digits: 2); text += "T"
        append(Int(parts.tm_hour), digits: 2); text += ":"
        append(Int(parts.tm_min), digits: 2); text += ":"
        append(Int(parts.tm_sec), digits: 2); text += "."
        append(millis, digits: 3); text += "Z"
        return text
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
