/// How long a connection may take. A request must arrive whole within `requestMilliseconds`
/// of its first byte, so a client that trickles bytes (slowloris) can't hold a connection; a
/// new connection must send its first request within `requestMilliseconds` too, so one that
/// never sends can't hold a place; an idle keep-alive connection (one that has been answered)
/// is closed after `idleMilliseconds`.
public struct ConnectionTimeouts: Sendable {
    public var requestMilliseconds: Int64 = 10_000
    public var idleMilliseconds: Int64 = 30_000
    public init() {}
}

/// When a connection's current wait runs out. Pure: the server feeds it the monotonic time.
public struct ReadDeadline: Sendable {
    public enum Expiry: Equatable, Sendable {
        /// Part of a request arrived but not all of it in time: answer 408 and close.
        case requestIncomplete
        /// Nothing arrived on an idle connection: close quietly.
        case idle
    }

    public let timeouts: ConnectionTimeouts
    private var idleSince: Int64
    private var requestStartedAt: Int64?
    /// Whether a request was answered on the connection: until then it is not idle keep-alive,
    /// only open.
    private var answered = false

    public init(timeouts: ConnectionTimeouts, now: Int64) {
        self.timeouts = timeouts
        idleSince = now
    }

    /// Bytes arrived at `now`; the first of a request starts its clock.
    public mutating func bytesArrived(now: Int64) {
        if requestStartedAt == nil { requestStartedAt = now }
    }

    /// A request was answered; `pipelined` says bytes of the next one are already buffered.
    public mutating func requestAnswered(now: Int64, pipelined: Bool) {
        idleSince = now
        requestStartedAt = pipelined ? now : nil
        answered = true
    }

    public var deadline: Int64 {
        if let requestStartedAt { return requestStartedAt + timeouts.requestMilliseconds }
        return idleSince + (answered ? timeouts.idleMilliseconds : timeouts.requestMilliseconds)
    }

    public func expiry(now: Int64) -> Expiry? {
        guard now >= deadline else { return nil }
        return requestStartedAt == nil ? .idle : .requestIncomplete
    }
}
