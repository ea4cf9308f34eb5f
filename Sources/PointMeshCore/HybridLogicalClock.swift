/// A hybrid logical clock reading: physical milliseconds since the Unix epoch plus a logical
/// counter that orders events within one millisecond, or when a peer's clock runs ahead.
/// Readings taken on one node strictly increase; a reading is never behind a received one.
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var wallMilliseconds: Int64
    public var logical: Int64

    public init(wallMilliseconds: Int64, logical: Int64) {
        self.wallMilliseconds = wallMilliseconds
        self.logical = logical
    }

    public static let zero = HLCTimestamp(wallMilliseconds: 0, logical: 0)

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool {
        (lhs.wallMilliseconds, lhs.logical) < (rhs.wallMilliseconds, rhs.logical)
    }

    public var description: String { "\(wallMilliseconds).\(logical)" }

    /// Reads `description`'s form back (`wall.logical`).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let wall = Int64(parts[0]), let logical = Int64(parts[1]) else { return nil }
        self.init(wallMilliseconds: wall, logical: logical)
    }
}

/// The clock state of one node. Time comes in as an argument, so the clock is a pure value
/// the simulation can drive.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HLCTimestamp

    public init(last: HLCTimestamp = .zero) { self.last = last }

    /// The timestamp for a local event at physical time `now` (ms since the epoch).
    public mutating func tick(now: Int64) -> HLCTimestamp {
        if now > last.wallMilliseconds {
            last = HLCTimestamp(wallMilliseconds: now, logical: 0)
        } else {
            last.logical += 1
        }
        return last
    }

    /// Folds in a timestamp seen on a received entry, so later local events order after it.
    public mutating func observe(_ remote: HLCTimestamp) {
        if remote > last { last = remote }
    }
}
