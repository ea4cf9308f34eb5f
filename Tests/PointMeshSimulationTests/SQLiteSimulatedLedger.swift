import Foundation
import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
@testable import PointMeshStore
import Testing

/// A simulated node's ledger in a real SQLite database in a scratch directory: the store's own
/// tables, queries and counter upserts, driven by the simulation, so what the in-memory model
/// can't show (SQL that disagrees with the Swift rules, statements left open) shows here.
/// Commits are not fsynced (`synchronous=OFF`): the simulation checks logic, not durability.
final class SQLiteSimulatedLedger: SimulatedLedger {
    let origin: NodeID
    private(set) var database: LedgerWriter
    private let path: String
    private var clock = HybridLogicalClock()

    init(origin: NodeID, directory: String) throws {
        self.origin = origin
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = LedgerStore.databasePath(in: directory)
        database = try Self.open(path)
        // Its own id, as a node's store keeps it (what the facts about the chain's nodes read).
        try database.connection.transaction { try database.saveMeta(["node_id": origin.rawValue]) }
    }

    /// The node's writer, so the simulation runs its write path (cached facts, the fast lot
    /// insert) too.
    private static func open(_ path: String) throws -> LedgerWriter {
        let database = try LedgerWriter.open(path: path)
        try database.connection.execute("PRAGMA synchronous = OFF")
        return database
    }

    /// The connection closes with every cache it kept; the database opens again, and the clock
    /// starts where the node's writer's does (`LedgerReader.startingClock`).
    func restartFromDisk() throws {
        database.connection.close()
        database = try Self.open(path)
        clock = try database.reader.startingClock()
    }

    func tickClock(now: Int64) throws -> HLCTimestamp {
        let reading = clock.tick(now: now)
        try database.connection.transaction { try database.keepClockFloor(reading) }
        return reading
    }

    func versionVector() throws -> VersionVector { try database.reader.versionVector() }

    func ledgerDigest() throws -> String { try database.reader.ledgerDigest(origins: try database.reader.versionVector().sequences.keys) }

    func entries(of origin: NodeID, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try database.reader.entries(of: origin, after: after, limit: limit)
    }

    func sealedEntries(of origin: NodeID, after: Int64, limit: Int) throws -> SealedEntries {
        try database.reader.sealedEntries(of: origin, after: after, limit: limit)
    }

    /// Nothing is sealed or checked over SQLite (the memory seeds and `ByzantineStoreSimulation`
    /// do): reports are neither.
    func seal(_ report: HoldingsReport) -> EntrySeal? { nil }

    func check(_ report: HoldingsReport, of origin: NodeID) -> ReportSealCheck.Verdict { .admitted }

    /// Seals are not checked over SQLite (the memory seeds and `ByzantineStoreSimulation` do).
    func apply(_ batch: SealedEntries, from sender: NodeID?) throws -> AppliedEntries {
        AppliedEntries(stored: try apply(batch.entries))
    }

    func apply(_ entries: [LedgerEntry]) throws -> Int {
        try database.connection.transaction {
            var vector = try database.reader.versionVector()
            var admitted: [LedgerEntry] = []
            for entry in entries where ReplicationRules.admission(of: entry.id, held: vector[entry.id.origin]) == .next {
                admitted.append(entry)
                vector.advance(entry.id.origin, to: entry.id.sequence)
                clock.observe(entry.timestamp)
            }
            try database.applyReceived(admitted)
            checkStableFacts()
            return admitted.count
        }
    }

    /// As the node's group-commit writer does: a transaction that does not commit rolls back
    /// and the writer's caches are dropped with it (they may hold what the write changed).
    func write(_ write: PreparedWrite, now: Int64, settings: NodeSettings, holdersAsked: HoldersAsked?, fate: CommitFate) throws -> WriteDecision {
        do {
            return try decideAndAppend(write, now: now, settings: settings, holdersAsked: holdersAsked, fate: fate)
        } catch {
            database.dropCaches()
            throw error
        }
    }

    private func decideAndAppend(_ write: PreparedWrite, now: Int64, settings: NodeSettings, holdersAsked: HoldersAsked?, fate: CommitFate) throws -> WriteDecision {
        try database.connection.transaction {
            let id = EntryID(origin: origin, sequence: try database.reader.versionVector()[origin] + 1)
            let timestamp = clock.tick(now: now)
            let decision = try LedgerRules.decide(write, from: database, id: id, timestamp: timestamp,
                                                  context: RequestContext(node: origin, now: timestamp.wallMilliseconds, settings: settings,
                                                                          holdersAsked: holdersAsked))
            if case .append(let entry) = decision {
                try database.append(entry)
                try checkLots(of: entry.customerAccounts)
            }
            checkStableFacts()
            guard fate == .commits else { throw CommitInterrupted(fate: fate) }
            return decision
        }
    }

    /// The lots a local write left (it updates them in place: paired rows split, `LotPair`)
    /// must be a fold of the account's entries; later received entries may refold an account
    /// from scratch, which would hide a wrong update by the time the run ends.
    private func checkLots(of accounts: [AccountID]) throws {
        for account in accounts {
            var cache = LotEventCache()
            let kept = try database.lotBook(of: account), folded = try database.fold.foldedLots(of: account, cache: &cache)
            if kept != folded { Issue.record("\(origin): lots of \(account) after a write: \(kept.lots); a fold gives \(folded.lots)") }
        }
    }

    /// The facts the writer keeps of accounts (`StableAccountFacts`) must be what the lot rows
    /// sum to at every instant they claim to hold for (checked at both ends): one kept past a
    /// write that changed the account would decide on stale points. So must the chain's kept
    /// issuance for a month be what the counters sum to.
    private func checkStableFacts() {
        let rows = database.reader
        if let known = database.caches.chainIssued, let summed = try? rows.issued(by: nil, in: known.month), summed != known.points {
            Issue.record("\(origin): kept chain issuance for \(known.month): \(known.points); the counters sum to \(summed)")
        }
        for (account, stable) in database.caches.stableFacts {
            for instant in [stable.from, stable.until == .max ? stable.from + 400 * CivilCalendar.millisecondsPerDay : stable.until - 1] {
                guard let kept = stable.facts(at: instant) else { continue }
                let summed = try? rows.accountFacts(of: account, at: instant)
                if kept != summed { Issue.record("\(origin): kept facts of \(account) at \(instant): \(kept); the lots sum to \(String(describing: summed))") }
            }
        }
    }

    func countingEntries(for key: IdempotencyKey) throws -> [LedgerEntry] { try database.countingEntries(for: key) }
    func balance(_ key: BalanceKey) throws -> Balance { try database.balance(key) }
    func linkedEntries(_ link: String) throws -> [LedgerEntry] { try database.linkedEntries(link) }
    func lotBook(of account: AccountID) throws -> LotBook { try database.lotBook(of: account) }
    func totalDeficit() throws -> Points { try database.reader.totalDeficit() }
    func heldRights(of account: AccountID, by node: NodeID, at instant: Int64) throws -> HeldRights {
        try database.heldRights(of: account, by: node, at: instant)
    }
    func pendingPoints(of account: AccountID, source: String, at instant: Int64, heldBy holder: NodeID?) throws -> Points {
        try database.pendingPoints(of: account, source: source, at: instant, heldBy: holder)
    }
    func grantRights(_ wanted: [RightsWanted], to receiver: NodeID, at instant: Int64) throws -> [LedgerEntry] {
        try RightsWanted.grants(wanted, to: receiver) { try write($0, now: instant, settings: NodeSettings(spendingRights: true), holdersAsked: nil, fate: .commits) }
    }
    func expiryPolicies() throws -> ExpiryPolicies { try database.expiryPolicies() }
    func isKnown(_ account: AccountID) throws -> Bool { try database.isKnown(account) }
    func catalog() throws -> Catalog { try database.catalog() }
    func earningRates(at instant: Int64, store: NodeID) throws -> EarningRules.Rates { try database.earningRates(at: instant, store: store) }
    func autoPoolFamily(of account: AccountID) throws -> FamilyID? { try database.autoPoolFamily(of: account) }
    func entries(coded code: EntryCode, of origin: NodeID, during: Range<Int64>, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try database.entries(coded: code, of: origin, during: during, after: after, limit: limit)
    }
    func issued(by store: NodeID?, in month: CalendarMonth) throws -> Points { try database.issued(by: store, in: month) }
    func monthlyCounters(in month: CalendarMonth) throws -> MonthlyCounters { try database.monthlyCounters(in: month) }
    func isChainNode(_ node: NodeID) throws -> Bool { try database.isChainNode(node) }
    func saveMembers(_ records: [MemberRecord]) throws { try database.connection.transaction { try database.savePeers(records) } }
    func savedMembers() throws -> [MemberRecord] { try database.reader.peers() }
    func accounts(withLotsExpiring expiring: ClosedRange<Int64>, limit: Int) throws -> [AccountID] {
        try database.accounts(withLotsExpiring: expiring, limit: limit)
    }

    func allEntries() throws -> [LedgerEntry] {
        var all: [LedgerEntry] = []
        for origin in try versionVector().sequences.keys { all += try entries(of: origin, after: 0, limit: Int.max) }
        return all
    }

    func duplicateIDs() throws -> Set<EntryID> {
        Set(try allEntries().filter { try database.reader.isDuplicate($0.id) }.map(\.id))
    }

    func voidIDs() throws -> Set<EntryID> { try database.reader.voidEntries() }
}
