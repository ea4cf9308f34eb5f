import Dispatch
import Foundation
import PointMeshCore
import Synchronization

/// The single writer. Concurrent writes queue up; the writer thread takes everything queued,
/// decides and appends each in order inside one transaction, commits once (one fsync for the
/// whole group with `synchronous=FULL`), and only then answers each caller. So a caller that
/// gets an answer knows its entry is on disk, and 32 concurrent callers share one fsync.
final class GroupCommitWriter: Sendable {
    /// A queued write and the slot its answer goes in.
    final class Job: @unchecked Sendable {
        let write: PreparedWrite
        // Written by the writer thread before `done` is signalled, read by the caller after.
        var result: Result<WriteOutcome, any Error> = .failure(StoreError.closed)
        let done = DispatchSemaphore(value: 0)
        init(_ write: PreparedWrite) { self.write = write }
    }

    /// State only the writer thread touches once it has started.
    final class WriterState: @unchecked Sendable {
        let database: LedgerDatabase
        let origin: NodeID
        var clock: HybridLogicalClock
        var nextSequence: Int64
        let now: @Sendable () -> Int64

        init(database: LedgerDatabase, origin: NodeID, now: @escaping @Sendable () -> Int64) throws {
            self.database = database
            self.origin = origin
            self.now = now
            clock = HybridLogicalClock(last: try database.lastTimestamp(of: origin))
            nextSequence = try database.versionVector()[origin] + 1
        }
    }

    /// The most writes one transaction takes; more wait for the next.
    static let maximumBatch = 1_024

    private let queue = Mutex<(jobs: [Job], closed: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    let batches = Atomic<Int>(0)
    let writes = Atomic<Int>(0)

    init(state: WriterState) {
        let thread = Thread { [self] in
            run(state)
            finished.signal()
        }
        thread.name = "pointmesh-writer"
        thread.start()
    }

    /// Queues `command` and waits until it is committed (or refused).
    func submit(_ write: PreparedWrite) throws -> WriteOutcome {
        let job = Job(write)
        let accepted = queue.withLock { queue in
            if queue.closed { return false }
            queue.jobs.append(job)
            return true
        }
        guard accepted else { throw StoreError.closed }
        wake.signal()
        job.done.wait()
        return try job.result.get()
    }

    /// Stops taking writes, finishes what is queued, and waits for the writer thread to end.
    func close() {
        let wasOpen = queue.withLock { queue in
            defer { queue.closed = true }
            return !queue.closed
        }
        guard wasOpen else { return }
        wake.signal()
        finished.wait()
    }

    private func run(_ state: WriterState) {
        while true {
            wake.wait()
            let (batch, closed) = queue.withLock { queue in
                let count = min(queue.jobs.count, Self.maximumBatch)
                let batch = Array(queue.jobs.prefix(count))
                queue.jobs.removeFirst(count)
                if !queue.jobs.isEmpty { wake.signal() }
                return (batch, queue.closed)
            }
            if !batch.isEmpty { commit(batch, state) }
            if closed && batch.isEmpty { return }
        }
    }

    private func commit(_ batch: [Job], _ state: WriterState) {
        let database = state.database
        let firstSequence = state.nextSequence
        var results: [Result<WriteOutcome, any Error>] = []
        do {
            try database.connection.transaction {
                for job in batch {
                    results.append(try decideAndAppend(job.write, state))
                }
            }
            batches.add(1, ordering: .relaxed)
            writes.add(batch.count, ordering: .relaxed)
        } catch {
            // The whole group rolled back: nothing of it is on disk, so none of it was written.
            state.nextSequence = firstSequence
            results = Array(repeating: .failure(error), count: batch.count)
        }
        for (job, result) in zip(batch, results) {
            job.result = result
            job.done.signal()
        }
    }

    /// Decides one write against the state the transaction has built so far. A refusal by the
    /// rules is that write's answer; a storage error aborts the whole group.
    private func decideAndAppend(_ write: PreparedWrite, _ state: WriterState) throws -> Result<WriteOutcome, any Error> {
        let facts = try state.database.facts(for: write)
        let id = EntryID(origin: state.origin, sequence: state.nextSequence)
        let decision: WriteDecision
        do {
            decision = try LedgerRules.decide(write, facts: facts, id: id, timestamp: state.clock.tick(now: state.now()))
        } catch {
            return .failure(error)
        }
        switch decision {
        case .replay(let entry):
            return .success(.replayed(entry))
        case .append(let entry):
            try state.database.append(entry)
            state.nextSequence += 1
            return .success(.created(entry))
        }
    }
}

