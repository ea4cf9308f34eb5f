import Foundation
import PointMeshCore
import Synchronization

/// A node's durable ledger: one SQLite database in the data directory, written by the
/// group-commit writer and read through a pool of read-only connections.
public final class LedgerStore: Sendable {
    public let nodeID: NodeID
    public let path: String
    private let writer: GroupCommitWriter
    private let readers: ReaderPool
    private let checkpointer: Checkpointer
    private let lock: DataDirectoryLock
    private let log: @Sendable (String) -> Void
    /// How seals on what peers send are checked: entries (`SealCheck`) and holdings reports
    /// (`ReportSealCheck`).
    public let sealPolicy: SealPolicy
    /// The key this node seals with (`seal(with:)`), for its holdings reports; its entries are
    /// sealed by the writer.
    private let sealer = Mutex<(any EntrySealer)?>(nil)

    /// The database file inside a data directory.
    public static func databasePath(in directory: String) -> String {
        (directory as NSString).appendingPathComponent("ledger.sqlite")
    }

    /// Opens (creating if needed) the ledger in `directory`.
    /// - Parameters:
    ///   - nodeID: the id the operator asked for; nil keeps the stored one, or takes `newNodeID`
    ///     on first start. An id that disagrees with the stored one is an error.
    ///   - newNodeID: makes an id for a node starting for the first time.
    ///   - clock: the node's clock: entries' timestamps, health times, commit durations.
    ///   - wal: how large the WAL may grow before checkpoints make it start over.
    ///   - sealPolicy: how the seals on received entries are checked (`SealCheck`).
    ///   - log: where the store reports trouble it handles itself (a failed checkpoint).
    ///   - progress: hears how a long upgrade of the data directory is going.
    public init(
        directory: String, nodeID requested: NodeID?, newNodeID: () -> NodeID,
        clock: NodeClock, readers readerCount: Int = 8, wal: WALPolicy = WALPolicy(), sealPolicy: SealPolicy = .unchecked,
        log: @escaping @Sendable (String) -> Void = { _ in }, progress: (String) -> Void = { _ in }
    ) throws {
        try Self.createDirectory(directory)
        // Before anything opens the database: migrations must never run beside a live node.
        let lock = try DataDirectoryLock(directory: directory)
        do {
            path = Self.databasePath(in: directory)
            let database = try LedgerWriter.open(path: path, progress: progress)
            try database.connection.execute("PRAGMA wal_autocheckpoint = 0")
            try database.connection.execute("PRAGMA journal_size_limit = \(wal.sizeLimit)")
            nodeID = try Self.resolveNodeID(database, requested: requested, newNodeID: newNodeID)
            readers = try ReaderPool(path: path, size: readerCount)
            let checkpointer = try Checkpointer(path: path, log: log)
            let state: GroupCommitWriter.WriterState
            do {
                state = try GroupCommitWriter.WriterState(ledger: database, origin: nodeID, clock: clock, wal: wal, checkpointer: checkpointer,
                                                        sealPolicy: sealPolicy)
            } catch {
                checkpointer.stop()
                throw error
            }
            self.checkpointer = checkpointer
            writer = GroupCommitWriter(state: state, log: log)
        } catch {
            lock.release()
            throw error
        }
        self.lock = lock
        self.log = log
        self.sealPolicy = sealPolicy
    }

    private static func createDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw StoreError.cannotOpenDirectory(directory, "it is a file, not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.cannotOpenDirectory(directory, "it can't be created (is a parent a file, or not writable?)")
        }
    }

    private static func resolveNodeID(_ database: LedgerWriter, requested: NodeID?, newNodeID: () -> NodeID) throws -> NodeID {
        let connection = database.connection
        if let stored = try connection.first("SELECT value FROM meta WHERE key = 'node_id'", row: { $0.text(0) }) {
            if let requested, requested.rawValue != stored {
                throw StoreError.nodeIDMismatch(stored: stored, requested: requested.rawValue)
            }
            return try NodeID(validating: stored)
        }
        let id = requested ?? newNodeID()
        try connection.transaction {
            try connection.run("INSERT INTO meta (key, value) VALUES ('node_id', ?)", .text(id.rawValue))
        }
        return id
    }

    /// Applies `write` and returns once the result is durable. Blocks the calling thread.
    public func write(_ write: PreparedWrite, context: RequestContext? = nil) throws -> WriteOutcome {
        guard case .write(let outcome) = try writer.submit(.local(write, context ?? defaultContext)) else { throw StoreError.closed }
        return outcome
    }

    /// Applies `write` without blocking: `completion` runs on the writer thread once the result
    /// is durable (or the write was refused). It should be quick; the next group waits for it.
    public func write(_ write: PreparedWrite, context: RequestContext,
                      completion: @escaping @Sendable (Result<WriteOutcome, any Error>) -> Void) {
        writer.submit(.local(write, context)) { result in
            completion(result.flatMap { work in
                guard case .write(let outcome) = work else { return .failure(StoreError.closed) }
                return .success(outcome)
            })
        }
    }

    /// The context of a write made without one (tests, tools): no caller; the writer fills in
    /// the node and the time.
    private var defaultContext: RequestContext { RequestContext(node: nodeID, now: 0) }

    /// Applies entries received from a peer, atomically and durably; returns how many were new.
    public func applyReceived(_ entries: [LedgerEntry]) throws -> Int {
        try applyReceived(SealedEntries(entries), from: nil).stored
    }

    /// Applies a batch received from `sender` (the peer, as the handshake proved it) as far as
    /// its seals allow under the store's `SealPolicy`, atomically and durably, keeping the seals.
    public func applyReceived(_ batch: SealedEntries, from sender: NodeID?) throws -> AppliedEntries {
        guard case .applied(let outcome) = try writer.submit(.replicate(batch, from: sender)) else { throw StoreError.closed }
        return outcome
    }

    /// Seals this node's entries with `sealer` from now on, its earlier ones too (durably, before
    /// it returns): at start, and when the node's certificate is renewed.
    public func seal(with sealer: any EntrySealer) throws {
        _ = try writer.submit(.seal(with: sealer))
        self.sealer.withLock { $0 = sealer }
    }

    /// This node's seal over its holdings report, nil while it seals nothing (a chain on the
    /// cluster key).
    public func seal(_ report: HoldingsReport) throws -> EntrySeal? {
        try sealer.withLock { try $0?.seal(report.sealMessage(origin: nodeID)) }
    }

    /// Whether a holdings report gossiped in `origin`'s name may stand for it
    /// (`ReportSealCheck`): its seal checked against the certificates the seals held name, and
    /// `presented`, those peers proved themselves with in sessions.
    public func check(_ report: HoldingsReport, of origin: NodeID,
                      presented: [CertificateFingerprint: [UInt8]]) throws -> ReportSealCheck.Verdict {
        guard sealPolicy.verifier != nil else { return .admitted }
        return try read { reader in
            try ReportSealCheck.check(report, of: origin, policy: sealPolicy,
                                      certificate: { try presented[$0] ?? reader.certificate($0) },
                                      certified: { try sealPolicy.certifiedOrigins(among: presented.values + reader.certificates()).contains($0) })
        }
    }

    /// Remembers the peer list across restarts.
    public func savePeers(_ records: [MemberRecord]) throws {
        _ = try writer.submit(.savePeers(records))
    }

    /// Keeps notes of the node's own across restarts (the `meta` table; read them with
    /// `LedgerReader.meta(withPrefix:)`), durably.
    public func saveMeta(_ values: [String: String]) throws {
        _ = try writer.submit(.saveMeta(values))
    }

    /// A reading of the node's hybrid clock, which every entry it writes later is stamped after,
    /// and the entries it holds at that instant (a holdings report, `Membership.report`).
    public func tickClock() throws -> (reading: HLCTimestamp, vector: VersionVector) {
        guard case .ticked(let reading, let vector) = try writer.submit(.tickClock) else { throw StoreError.closed }
        return (reading, vector)
    }

    /// The entries held, as of the last commit (no query).
    public var versionVector: VersionVector {
        writer.committedVector.withLock { $0 }
    }

    /// The digest of the entries held, covering their bytes, as of the last commit.
    public func ledgerDigest() throws -> String {
        let origins = versionVector.sequences.keys
        return try read { try $0.ledgerDigest(origins: origins) }
    }

    /// Runs `body` on a read-only connection that sees the last committed state.
    public func read<T>(_ body: (LedgerReader) throws -> T) throws -> T {
        try readers.withReader(body)
    }

    /// Transactions committed and writes they held, for `/metrics`.
    public var commitStatistics: (batches: Int, writes: Int) {
        (writer.batches.load(ordering: .relaxed), writer.writes.load(ordering: .relaxed))
    }

    /// Jobs per group commit and commit durations (seconds), as histograms.
    public var commitHistograms: (batchSizes: Histogram, seconds: Histogram) { (writer.batchSizes, writer.commitSeconds) }

    /// Writes and replicated batches waiting for the writer.
    public var writeQueueDepth: Int { writer.queueDepth }

    /// Entries committed since the node started, written here or received, by entry code.
    public var entriesCommittedByCode: [UInt64: Int] { writer.entriesByCode.withLock { $0 } }

    /// Finishes queued writes, stops the writer, checkpoints and truncates the WAL, closes every
    /// connection (which removes the `-wal` and `-shm` files) and releases the directory lock.
    public func close() {
        guard writer.close() else { return }
        checkpointer.stop()
        readers.close()
        do {
            try writer.closeDatabase()
        } catch {
            log("closing the ledger: final checkpoint failed (the WAL is kept and replayed on next start): \(error)")
        }
        lock.release()
    }

    /// Whether writes are reaching the disk.
    public var health: StorageHealth.Snapshot { writer.health.snapshot }

    /// Current size of the WAL file, for `/metrics` and the benchmarks.
    public var walBytes: Int64 {
        var info = stat()
        return stat(path + "-wal", &info) == 0 ? Int64(info.st_size) : 0
    }

    /// Times the writer made the WAL start over (`WALPolicy`), for `/metrics`.
    public var walRestarts: Int { writer.walRestarts.load(ordering: .relaxed) }

    /// Background checkpoints that failed (each retried), for `/metrics`.
    public var checkpointFailures: Int { checkpointer.failures.load(ordering: .relaxed) }
}
