import Dispatch
import Foundation
import PointMeshThreads
import Synchronization

/// Copies committed WAL frames back into the database file off the writer's path.
///
/// The writer's connection has automatic checkpoints turned off; this thread, on its own
/// connection, runs a PASSIVE checkpoint every `interval`. A PASSIVE checkpoint never blocks
/// the writer or readers, so a commit never pays for copying pages or for the database file's
/// fsync. What it can't do under continuous writes is let the WAL start over: see `WALPolicy`
/// for how the writer bounds the WAL.
final class Checkpointer: Sendable {
    static let interval = DispatchTimeInterval.milliseconds(100)
    /// How long the writer's RESTART checkpoint may wait for readers.
    static let restartWaitMilliseconds: Int32 = 20

    private let stopped = Mutex(false)
    /// Held while a checkpoint runs, from either side: the writer's RESTART checkpoint skips a
    /// turn rather than sleep in SQLite's busy handler while a PASSIVE one holds the lock.
    private let checkpointing = Mutex(())
    private let finished = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)
    /// Checkpoints that failed; each is retried on the next tick.
    let failures = Atomic<Int>(0)
    /// PASSIVE checkpoints started and finished (without error): the writer waits for one that
    /// started after it asked (`requestPass`, `hasPassed`).
    private let started = Atomic<Int>(0)
    private let passed = Atomic<Int>(0)

    init(path: String, log: @escaping @Sendable (String) -> Void) throws {
        let connection = CheckpointConnection(try SQLiteConnection(path: path, mode: .readWrite))
        NamedThread.start("pm-checkpoint") { [self] in
            while !stopped.withLock({ $0 }) {
                _ = wake.wait(timeout: .now() + Self.interval)
                do {
                    try checkpointing.withLock { _ in
                        let ticket = started.add(1, ordering: .acquiringAndReleasing).newValue
                        try connection.value.execute("PRAGMA wal_checkpoint(PASSIVE)")
                        passed.store(ticket, ordering: .releasing)
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                    log("WAL checkpoint failed (will retry): \(error)")
                }
            }
            connection.value.close()
            finished.signal()
        }
    }

    /// Asks for a PASSIVE checkpoint now rather than at the next tick; returns the ticket
    /// `hasPassed` takes. The checkpoint then copies the WAL's frames and syncs the database
    /// file on this thread, while the writer goes on committing.
    func requestPass() -> Int {
        let ticket = started.load(ordering: .acquiring)
        wake.signal()
        return ticket
    }

    /// Whether a PASSIVE checkpoint that started after `requestPass` returned `ticket` has
    /// finished (one already running then copied only the frames before it started).
    func hasPassed(_ ticket: Int) -> Bool {
        passed.load(ordering: .acquiring) > ticket
    }

    /// Runs a RESTART checkpoint on `connection` (the writer's, between transactions) unless a
    /// PASSIVE one is running right now; returns whether it finished.
    /// It waits at most `restartWaitMilliseconds` for readers still on an older snapshot (reads
    /// are short), then gives up until after the writer's next commit: a long read or an online
    /// backup never stalls the writer.
    func restart(on connection: SQLiteConnection) throws -> Bool {
        try checkpointing.withLockIfAvailable { _ in
            try connection.withBusyWait(milliseconds: Self.restartWaitMilliseconds) {
                // The first column is 1 when the checkpoint could not finish.
                try connection.first("PRAGMA wal_checkpoint(RESTART)") { $0.int64(0) == 0 } ?? false
            }
        } ?? false
    }

    /// Stops the thread and closes its connection.
    func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        wake.signal()
        finished.wait()
    }
}

/// The checkpointer's connection, used only by its thread.
private final class CheckpointConnection: @unchecked Sendable {
    let value: SQLiteConnection
    init(_ value: SQLiteConnection) { self.value = value }
}

/// How large the WAL may grow, and how it is kept there.
///
/// SQLite starts the WAL over from its beginning only when a checkpoint has copied every frame
/// and no reader still uses them. Under continuous writes the background PASSIVE checkpoints
/// rarely catch the last frame, so the file grew without end (793 MB after 10 s of wrk). A
/// RESTART checkpoint from another connection does not help either: it must wait for the
/// write lock, which the group-commit writer frees only for moments, and starves.
///
/// So the writer itself, between two transactions (when it holds no lock), runs a RESTART
/// checkpoint once the WAL holds `restartThreshold` bytes of frames. First it asks the
/// background thread for two PASSIVE checkpoints in turn (`GroupCommitWriter.passesBeforeRestart`)
/// and goes on committing until the second has finished: the first copies the frames and syncs
/// the database file off the writer's path, the second what was committed meanwhile, so the
/// RESTART finds only the last commits' frames to copy. (Run at the
/// threshold directly, the RESTART copied up to a tick's worth of frames and synced the
/// database file on the writer, stalling every write 5–16 ms at each restart under load.) If
/// the pass doesn't come (the background thread failing), the writer restarts anyway at twice
/// the threshold. Readers are short, so the wait for them is too. The next commit then writes
/// from the WAL's start, and `journal_size_limit` cuts the file back to `sizeLimit`. At a clean
/// stop the WAL is checkpointed, truncated and removed.
public struct WALPolicy: Sendable {
    /// Frames' bytes in the WAL after which the writer makes it start over.
    public var restartThreshold: Int64 = 16 << 20
    /// What `journal_size_limit` truncates the WAL file to when it starts over.
    public var sizeLimit: Int64 = 64 << 20

    public init() {}
}
