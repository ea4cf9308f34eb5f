import Foundation

/// The clock the ledger reads: entry timestamps, expiry and return windows all take "now" from
/// here. Normally the system clock; with `--clock-offset-file` (for tests and rehearsals of
/// expiry), the system clock plus the milliseconds written in that file, read at each use, so
/// a test can move a running node's time forward without restarting it.
public struct NodeClock: Sendable {
    public let offsetFile: String?

    public init(offsetFile: String? = nil) {
        self.offsetFile = offsetFile
    }

    public func now() -> Int64 {
        let system = Int64(Date().timeIntervalSince1970 * 1000)
        guard let offsetFile else { return system }
        // An unreadable or empty file means no offset, so a test can write it at any moment.
        guard let text = try? String(contentsOfFile: offsetFile, encoding: .utf8),
              let offset = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return system }
        return system + offset
    }
}
