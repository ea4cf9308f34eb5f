import Foundation

/// A clock the test moves forward, for the nodes started with `--clock-offset-file` at its
/// `path` (expiry, cooling-off and notice periods without waiting).
final class SharedClock {
    let path = NSTemporaryDirectory() + "pointmesh-clock-\(UUID().uuidString)"
    private(set) var offset: Int64 = 0

    init() { set(0) }

    func set(_ offset: Int64) {
        self.offset = offset
        try? String(offset).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The nodes' time now.
    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) + offset }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
