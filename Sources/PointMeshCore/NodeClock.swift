/// The one clock a node's shell reads: wall time in milliseconds since the epoch (entry
/// timestamps, expiry, return windows, log lines, the time a status shows) and monotonic time
/// in nanoseconds, which never jumps (durations, deadlines, gossip rounds and backoff, how long
/// since a peer was heard). Made once and passed to everything that reads time, so a test or a
/// rehearsal moves all of it together. The core never reads it: it takes `now` as an argument.
/// The node's system clock is `NodeClock.system(offsetFile:)`.
public struct NodeClock: Sendable {
    private let readWall: @Sendable () -> Int64
    private let readMonotonic: @Sendable () -> UInt64

    public init(wall: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> UInt64) {
        readWall = wall
        readMonotonic = monotonic
    }

    /// Wall time, milliseconds since the epoch.
    public func now() -> Int64 { readWall() }

    /// Monotonic time, nanoseconds from an arbitrary start.
    public func monotonicNanoseconds() -> UInt64 { readMonotonic() }

    /// Monotonic time in milliseconds.
    public func monotonicMilliseconds() -> Int64 { Int64(readMonotonic() / 1_000_000) }

    /// Seconds since `start`, a reading of `monotonicNanoseconds`.
    public func seconds(since start: UInt64) -> Double { Double(readMonotonic() &- start) / 1e9 }

    /// The wall time of a monotonic reading in milliseconds (a peer's last contact, to show).
    public func wallTime(ofMonotonic milliseconds: Int64) -> Int64 { now() - (monotonicMilliseconds() - milliseconds) }
}
