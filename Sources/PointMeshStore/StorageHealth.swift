import Synchronization

/// Whether the node's writes are reaching its disk. The writer records every commit's outcome;
/// `/v1/status`, `/metrics` and the log read it. A failure (disk full, I/O error, the database
/// locked by something else) marks the store unhealthy until the next commit succeeds, so a
/// node whose writes all fail never looks healthy, and one that recovers says so by itself.
public final class StorageHealth: Sendable {
    /// What the status endpoint shows.
    public struct Snapshot: Sendable, Equatable {
        /// Nil while commits succeed; otherwise the last failure's reason.
        public var failure: String?
        /// When the current run of failures began (ms since the epoch).
        public var failingSinceMilliseconds: Int64?
        /// Commits that failed for a storage reason, since start.
        public var failedCommits: Int
    }

    /// Failures are logged at most this often: a full disk fails every request.
    public static let logIntervalMilliseconds: Int64 = 60_000

    private struct State {
        var failure: String?
        var failingSince: Int64?
        var failedCommits = 0
        var lastLogged: Int64?
        var suppressed = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var snapshot: Snapshot {
        state.withLock { Snapshot(failure: $0.failure, failingSinceMilliseconds: $0.failingSince, failedCommits: $0.failedCommits) }
    }

    /// Records a failed commit; returns the line to log, or nil when one was logged within the
    /// last `logIntervalMilliseconds`.
    func recordFailure(_ reason: String, now: Int64) -> String? {
        state.withLock { state in
            state.failedCommits += 1
            state.failure = reason
            if state.failingSince == nil { state.failingSince = now }
            if let last = state.lastLogged, now - last < Self.logIntervalMilliseconds {
                state.suppressed += 1
                return nil
            }
            let repeats = state.suppressed > 0 ? " (\(state.suppressed) more failures since the last report)" : ""
            state.lastLogged = now
            state.suppressed = 0
            return "writes are failing: \(reason)\(repeats); the node refuses writes with 503 until the disk accepts them again"
        }
    }

    /// Records a successful commit; returns the line to log when it ends a run of failures.
    func recordSuccess(now: Int64) -> String? {
        state.withLock { state in
            guard state.failure != nil else { return nil }
            let seconds = (now - (state.failingSince ?? now)) / 1000
            state.failure = nil
            state.failingSince = nil
            state.lastLogged = nil
            state.suppressed = 0
            return "writes are succeeding again after \(seconds) s of failures"
        }
    }
}
