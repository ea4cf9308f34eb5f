import Dispatch
import Foundation
import Synchronization

/// Moves WAL checkpoints off the writer. The writer's connection has automatic checkpoints
/// turned off; this thread, on its own connection, copies committed WAL frames back into the
/// database file every `interval` (a PASSIVE checkpoint never blocks the writer or readers).
/// So a commit never pays for a checkpoint's fsync, and the work lands on an otherwise idle core.
final class Checkpointer: Sendable {
    static let interval = DispatchTimeInterval.milliseconds(100)

    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)

    init(path: String, log: @escaping @Sendable (String) -> Void) throws {
        let connection = CheckpointConnection(try SQLiteConnection(path: path, mode: .readWrite))
        let thread = Thread { [self] in
            while !stopped.withLock({ $0 }) {
                _ = wake.wait(timeout: .now() + Self.interval)
                do {
                    try connection.value.execute("PRAGMA wal_checkpoint(PASSIVE)")
                } catch {
                    log("WAL checkpoint failed (will retry): \(error)")
                }
            }
            finished.signal()
        }
        thread.name = "pointmesh-checkpoint"
        thread.start()
    }

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
