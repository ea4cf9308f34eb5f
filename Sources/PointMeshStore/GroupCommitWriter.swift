import Dispatch
import Foundation
import PointMeshCore
import PointMeshThreads
import Synchronization

/// The single writer. Concurrent work queues up; the writer thread takes everything queued,
/// does each piece in order inside one transaction, commits once (one fsync for the whole group
/// with `synchronous=FULL`), and only then answers each caller. So a caller that gets an answer
/// knows its work is on disk, and 32 concurrent callers share one fsync.
final class GroupCommitWriter: Sendable {
    /// What can be asked of the writer.
    enum Work: Sendable {
        /// A client's write, decided by `LedgerRules` in the asker's context.
        case local(PreparedWrite, RequestContext)
        /// Entries received from a peer (`from`, as the handshake proved it), applied by the
        /// replication rules as far as their seals allow (`SealCheck`).
        case replicate(SealedEntries, from: NodeID?)
        /// From now on, seal this node's entries with this key (`LedgerWriter.adopt`).
        case seal(with: any EntrySealer)
        /// The membership to remember across restarts.
        case savePeers([MemberRecord])
        /// Notes a node keeps for itself across restarts (`LedgerWriter.saveMeta`).
        case saveMeta([String: String])
        /// Reads the hybrid clock, moving it past the reading (and remembering that across
        /// restarts), with the entries held at that instant: what a holdings report says.
        case tickClock
    }

    enum WorkResult: Sendable {
        case write(WriteOutcome)
        case applied(AppliedEntries)
        case saved
        case ticked(HLCTimestamp, VersionVector)
    }

    /// Queued work and who to tell when it is committed.
    struct Job: Sendable {
        let work: Work
        /// Called on the writer thread once the work is on disk (or refused). Keep it short:
        /// the next group waits for it.
        let completion: @Sendable (Result<WorkResult, any Error>) -> Void
    }

    /// State only the writer thread touches once it has started.
    final class WriterState: @unchecked Sendable {
        let ledger: LedgerWriter
        let origin: NodeID
        var hlc: HybridLogicalClock
        var vector: VersionVector
        let clock: NodeClock
        let wal: WALPolicy
        let pageSize: Int64
        /// Frames in the WAL after the last commit, as SQLite's WAL hook reports them.
        var walFrames: Int64 = 0
        /// The checkpointer's pass the writer waits for before it makes the WAL start over, and
        /// how many more it will ask for after that one (`WALPolicy`); nil when it hasn't asked.
        var restartWait: (ticket: Int, more: Int)?

        let checkpointer: Checkpointer
        /// How received entries' seals are checked, and the key this node seals its own with.
        let sealPolicy: SealPolicy
        var sealer: (any EntrySealer)?
        /// Origins that have shown a certificate (`SealPolicy.Requirement.certifiedOrigins`).
        var certifiedOrigins: Set<NodeID> = []

        init(ledger: LedgerWriter, origin: NodeID, clock: NodeClock, wal: WALPolicy,
             checkpointer: Checkpointer, sealPolicy: SealPolicy = .unchecked) throws {
            self.ledger = ledger
            self.sealPolicy = sealPolicy
            if sealPolicy.verifier != nil {
                certifiedOrigins = sealPolicy.certifiedOrigins(among: try ledger.reader.certificates())
            }
            self.origin = origin
            self.clock = clock
            self.wal = wal
            self.checkpointer = checkpointer
            pageSize = try ledger.connection.integer("PRAGMA page_size")
            vector = try ledger.reader.versionVector()
            hlc = try ledger.reader.startingClock()
            ledger.connection.onWALCommit { [unowned self] frames in walFrames = Int64(frames) }
        }
    }

    /// PASSIVE checkpoints the writer waits for before a RESTART (`WALPolicy`): the first
    /// copies the WAL, the second what was committed while the first ran, so the RESTART finds
    /// only what was committed during the second.
    static let passesBeforeRestart = 2

    /// The most jobs one transaction takes; more wait for the next.
    static let maximumBatch = 1_024

    private let queue = Mutex<(jobs: [Job], closed: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// The version vector as of the last commit, for readers.
    let committedVector: Mutex<VersionVector>
    let batches = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let walRestarts = Atomic<Int>(0)
    /// Jobs per group commit, and how long each commit took (seconds, from BEGIN to the end of
    /// COMMIT's fsync).
    let batchSizes = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
    let commitSeconds = Histogram(bounds: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1])
    /// Entries committed since start, by entry code (written here or received).
    let entriesByCode = Mutex<[UInt64: Int]>([:])

    /// Jobs waiting for the writer.
    var queueDepth: Int { queue.withLock { $0.jobs.count } }

    /// Touched by the writer thread only, until `closeDatabase` after the thread has ended.
    private let state: WriterState

    /// Whether commits reach the disk.
    let health = StorageHealth()
    private let log: @Sendable (String) -> Void

    init(state: WriterState, log: @escaping @Sendable (String) -> Void) {
        self.state = state
        self.log = log
        committedVector = Mutex(state.vector)
        NamedThread.start("pm-writer") { [self] in
            run(state)
            finished.signal()
        }
    }

    /// Queues `work`; `completion` runs once it is committed (or refused).
    func submit(_ work: Work, completion: @escaping @Sendable (Result<WorkResult, any Error>) -> Void) {
        let accepted = queue.withLock { queue in
            if queue.closed { return false }
            queue.jobs.append(Job(work: work, completion: completion))
            return true
        }
        guard accepted else { return completion(.failure(StoreError.closed)) }
        wake.signal()
    }

    /// Queues `work` and waits until it is committed (or refused).
    func submit(_ work: Work) throws -> WorkResult {
        let done = DispatchSemaphore(value: 0)
        let slot = Mutex<Result<WorkResult, any Error>>(.failure(StoreError.closed))
        submit(work) { result in
            slot.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try slot.withLock { $0 }.get()
    }

    /// Stops taking work, finishes what is queued, and waits for the writer thread to end.
    /// Returns false when the writer was already closed.
    @discardableResult
    func close() -> Bool {
        let wasOpen = queue.withLock { queue in
            defer { queue.closed = true }
            return !queue.closed
        }
        guard wasOpen else { return false }
        wake.signal()
        finished.wait()
        return true
    }

    /// After `close`, once every other connection to the database is closed: checkpoints the
    /// whole WAL, truncates it, and closes the writer's connection (which, as the last one,
    /// removes the `-wal` and `-shm` files).
    func closeDatabase() throws {
        defer { state.ledger.connection.close() }
        try state.ledger.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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
            if !batch.isEmpty {
                commit(batch, state)
                boundWAL(state)
            }
            if closed && batch.isEmpty { return }
        }
    }

    private func commit(_ batch: [Job], _ state: WriterState) {
        let ledger = state.ledger
        let vectorBefore = state.vector
        var results: [Result<WorkResult, any Error>] = []
        var codes: [UInt64: Int] = [:]
        let started = state.clock.monotonicNanoseconds()
        do {
            try ledger.connection.transaction {
                // Each origin's hash chain is looked up once per group.
                var chains: [NodeID: OriginChain] = [:]
                for job in batch {
                    results.append(try perform(job.work, state, chains: &chains, codes: &codes))
                }
                // This node's entries of the group are sealed as one run: the last, and every
                // `EntrySeal.interval`th.
                if let sealer = state.sealer, let last = chains[state.origin], last.sequence > vectorBefore[state.origin] {
                    try ledger.seal((vectorBefore[state.origin] + 1)...last.sequence, of: state.origin, last: last, with: sealer)
                }
                try ledger.flushDayCells()
            }
            committedVector.withLock { $0 = state.vector }
            batches.add(1, ordering: .relaxed)
            writes.add(batch.count, ordering: .relaxed)
            batchSizes.observe(Double(batch.count))
            commitSeconds.observe(state.clock.seconds(since: started))
            if !codes.isEmpty { entriesByCode.withLock { counts in for (code, count) in codes { counts[code, default: 0] += count } } }
            if let line = health.recordSuccess(now: state.clock.now()) { log(line) }
        } catch {
            // The whole group rolled back: nothing of it is on disk, so none of it was written.
            state.vector = vectorBefore
            ledger.dropCaches()
            results = Array(repeating: .failure(error), count: batch.count)
            if let line = health.recordFailure("\(error)", now: state.clock.now()) { log(line) }
        }
        for (job, result) in zip(batch, results) { job.completion(result) }
    }

    /// Makes the WAL start over once it passes the policy's threshold (`WALPolicy` says why
    /// this runs here, between transactions, and not on the checkpointer's thread).
    private func boundWAL(_ state: WriterState) {
        let bytes = state.walFrames * state.pageSize
        guard bytes >= state.wal.restartThreshold else { return }
        var wait = state.restartWait ?? (state.checkpointer.requestPass(), Self.passesBeforeRestart - 1)
        if wait.more > 0, state.checkpointer.hasPassed(wait.ticket) { wait = (state.checkpointer.requestPass(), wait.more - 1) }
        state.restartWait = wait
        let ready = wait.more == 0 && state.checkpointer.hasPassed(wait.ticket)
        guard ready || bytes >= 2 * state.wal.restartThreshold else { return }
        do {
            guard try state.checkpointer.restart(on: state.ledger.connection) else { return }
            state.walFrames = 0
            state.restartWait = nil
            walRestarts.add(1, ordering: .relaxed)
        } catch {
            log("WAL restart checkpoint failed (will retry after the next commit): \(error)")
        }
    }

    /// Does one job against the state the transaction has built so far. A refusal by the
    /// rules is that job's answer; a storage error aborts the whole group.
    private func perform(_ work: Work, _ state: WriterState, chains: inout [NodeID: OriginChain],
                         codes: inout [UInt64: Int]) throws -> Result<WorkResult, any Error> {
        switch work {
        case .local(let write, let asked):
            let id = EntryID(origin: state.origin, sequence: state.vector[state.origin] + 1)
            let timestamp = state.hlc.tick(now: state.clock.now())
            // The origin and the time are the writer's: they decide the entry's id and order.
            var context = asked
            context.node = state.origin
            context.now = timestamp.wallMilliseconds
            let decision: WriteDecision
            do {
                decision = try LedgerRules.decide(write, from: state.ledger, id: id, timestamp: timestamp, context: context)
                } catch let refusal as LedgerError {
                return .failure(refusal)
            }
            switch decision {
            case .replay(let entry):
                return .success(.write(.replayed(entry)))
            case .append(let entry):
                try state.ledger.append(entry, chains: &chains)
                state.vector.advance(state.origin, to: entry.id.sequence)
                codes[entry.code.value, default: 0] += 1
                return .success(.write(.created(entry)))
            }

        case .replicate(let batch, let sender):
            let reader = state.ledger.reader
            var certificates = batch.certificates
            for fingerprint in Set(batch.seals.values.map(\.certificate)) {
                if let held = try reader.certificate(fingerprint) { certificates[fingerprint] = held }
            }
            let admission = try SealCheck.admit(batch, held: { origin in try chains[origin] ?? reader.chain(of: origin) },
                                                certificate: { certificates[$0] }, policy: state.sealPolicy, sender: sender,
                                                certified: { state.certifiedOrigins.contains($0) })
            state.certifiedOrigins.formUnion(admission.certified)
            for entry in admission.entries {
                state.vector.advance(entry.id.origin, to: entry.id.sequence)
                state.hlc.observe(entry.timestamp)
            }
            try state.ledger.applyReceived(admission.entries, chains: &chains)
            try state.ledger.keep(admission.seals, certificates: batch.certificates)
            for entry in admission.entries { codes[entry.code.value, default: 0] += 1 }
            return .success(.applied(AppliedEntries(stored: admission.entries.count, awaitingSeal: admission.awaitingSeal, refusals: admission.refusals)))

        case .seal(let sealer):
            try state.ledger.adopt(sealer, origin: state.origin)
            state.sealer = sealer
            return .success(.saved)

        case .savePeers(let records):
            try state.ledger.savePeers(records)
            return .success(.saved)

        case .saveMeta(let values):
            try state.ledger.saveMeta(values)
            return .success(.saved)

        case .tickClock:
            let reading = state.hlc.tick(now: state.clock.now())
            try state.ledger.keepClockFloor(reading)
            return .success(.ticked(reading, state.vector))
        }
    }
}
