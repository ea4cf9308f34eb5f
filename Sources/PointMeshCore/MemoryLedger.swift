/// A complete ledger held in memory: the same rules as the SQLite store, without a disk. The
/// deterministic simulation runs one per node; tests use it as the reference model.
public struct MemoryLedger: ReplicaStore, WriteFactsSource, Sendable {
    public let origin: NodeID
    public private(set) var clock = HybridLogicalClock()
    private var log: [NodeID: [LedgerEntry]] = [:]
    /// The entry that counts for each idempotency key.
    private var counting: [IdempotencyKey: LedgerEntry] = [:]
    public private(set) var duplicates: Set<EntryID> = []
    public private(set) var counters: [AccountID: AccountCounters] = [:]
    private var refunded: [ReceiptID: Fen] = [:]

    public init(origin: NodeID) {
        self.origin = origin
    }

    public func versionVector() -> VersionVector {
        VersionVector(log.mapValues { Int64($0.count) })
    }

    public func entries(of origin: NodeID, after: Int64, limit: Int) -> [LedgerEntry] {
        let all = log[origin] ?? []
        let start = Int(max(0, after))
        guard start < all.count else { return [] }
        return Array(all[start..<min(all.count, start + limit)])
    }

    public var allEntries: [LedgerEntry] { log.values.flatMap { $0 } }

    public func accountState(of account: AccountID) -> AccountState {
        counters[account]?.state ?? .empty
    }

    public func countingEntry(for key: IdempotencyKey) -> LedgerEntry? { counting[key] }

    public func refundedAmount(of receipt: ReceiptID) -> Fen { refunded[receipt] ?? .zero }

    /// A local write at physical time `now`: decided by `LedgerRules` against this ledger.
    public mutating func write(_ command: WriteCommand, now: Int64) throws -> WriteDecision {
        let prepared = PreparedWrite(command)
        let facts = try WriteFacts.gather(for: prepared, from: self)
        let id = EntryID(origin: origin, sequence: versionVector()[origin] + 1)
        let decision = try LedgerRules.decide(prepared, facts: facts, id: id, timestamp: clock.tick(now: now))
        if case .append(let entry) = decision { store(entry) }
        return decision
    }

    public mutating func apply(_ entries: [LedgerEntry]) -> Int {
        var stored = 0
        for entry in entries {
            guard ReplicationRules.admission(of: entry.id, held: versionVector()[entry.id.origin]) == .next else { continue }
            clock.observe(entry.timestamp)
            store(entry)
            stored += 1
        }
        return stored
    }

    private mutating func store(_ entry: LedgerEntry) {
        log[entry.id.origin, default: []].append(entry)
        switch ReceivedEntryEffect.of(entry, current: counting[entry.idempotencyKey]) {
        case .counts:
            count(entry, sign: 1)
        case .duplicate:
            duplicates.insert(entry.id)
        case .supersedes(let loser):
            count(loser, sign: -1)
            duplicates.insert(loser.id)
            count(entry, sign: 1)
        }
    }

    private mutating func count(_ entry: LedgerEntry, sign: Int64) {
        if sign > 0 {
            counters[entry.account, default: AccountCounters()].apply(entry)
            counting[entry.idempotencyKey] = entry
        } else {
            counters[entry.account, default: AccountCounters()].unapply(entry)
        }
        if entry.kind == .refund, let receipt = entry.receipt, let amount = entry.amount {
            refunded[receipt, default: .zero] = (refunded[receipt] ?? .zero) + (sign > 0 ? amount : Fen(-amount.value))
        }
    }
}
