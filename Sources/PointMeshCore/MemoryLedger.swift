/// A complete ledger held in memory: the same rules as the SQLite store, without a disk. The
/// deterministic simulation runs one per node; tests use it as the reference model.
public struct MemoryLedger: FactsSource, Sendable {
    public let origin: NodeID
    public private(set) var clock = HybridLogicalClock()
    /// The last `tickClock` reading, kept across a restart as the store keeps it on disk.
    private var clockFloor = HLCTimestamp.zero
    private var log: [NodeID: [LedgerEntry]] = [:]
    /// The entries that count for each idempotency key, earliest first: one per request
    /// (several where different requests clashed on one id).
    private var counting: [IdempotencyKey: [LedgerEntry]] = [:]
    public private(set) var duplicates: Set<EntryID> = []
    /// Counting entries the converged history voids (transfers, refunds past their purchase,
    /// `RefundCondition`): their moves are out of the counters.
    public private(set) var voids: Set<EntryID> = []
    /// Per balance, per origin: the same CRDT-style counters the store keeps (none for a
    /// customer's points, which are its lots).
    public private(set) var balances: [BalanceKey: [NodeID: Balance]] = [:]
    private var links: [String: Set<EntryID>] = [:]
    private var byID: [EntryID: LedgerEntry] = [:]
    private var chains: [NodeID: OriginChain] = [:]
    /// Counting entries per customer account, for its lots (folded on every read: the
    /// reference the store's kept lots are checked against).
    private var accountEntries: [AccountID: Set<EntryID>] = [:]
    /// The chain's nodes as this node's membership last saw them (the store's `peers` table),
    /// retired ones marked.
    public var members: [MemberRecord] = []
    /// Seals this node's writes (each write is its own commit here, so each is sealed); nil: none.
    public var sealer: (any EntrySealer)?
    /// How it takes peers' entries.
    public var sealPolicy = SealPolicy.unchecked
    /// The seals held, this node's and received, and the certificates they name.
    public private(set) var seals: [EntryID: EntrySeal] = [:]
    public private(set) var certificates: [CertificateFingerprint: [UInt8]] = [:]

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

    public func ledgerDigest() -> String { LedgerDigest.of(chains) }

    public func balance(_ key: BalanceKey) -> Balance {
        balances[key]?.values.reduce(Balance(), +) ?? Balance()
    }

    public func countingEntries(for key: IdempotencyKey) -> [LedgerEntry] { counting[key] ?? [] }

    /// A customer's state at `instant`, without `throws` (memory can't fail), so tests and
    /// the simulation read it directly.
    public func accountState(of account: AccountID, at instant: Int64) -> AccountState {
        AccountFacts(summary: lotBook(of: account).summary(at: instant, expiringLimit: 0),
                     debt: balance(BalanceKey(LedgerAccount(account), .debt)).posted).state
    }

    /// The account's lots, folded from its counting entries. Entries were checked on the way
    /// in, so a fold that fails to read one leaves it out (the store refuses such a write).
    public func lotBook(of account: AccountID) -> LotBook {
        (try? LotEvents.fold((accountEntries[account] ?? []).compactMap { byID[$0] }, for: account, voidRefunds: voids) {
            linkedEntries(FamilyMembership.memberLink($0))
        }) ?? LotBook()
    }

    public func expiryPolicies() -> ExpiryPolicies {
        ExpiryPolicies(counting.values.joined().filter { $0.code == ExpiryPolicyKind.code }.compactMap { try? ExpiryPolicyKind.version($0) })
    }

    public func isKnown(_ account: AccountID) -> Bool { accountEntries[account] != nil }

    /// Every customer account any counting entry concerns.
    public var customerAccounts: [AccountID] { accountEntries.keys.sorted() }

    public func accounts(withLotsExpiring expiring: ClosedRange<Int64>, limit: Int) -> [AccountID] {
        Array(accountEntries.keys.sorted().filter { account in lotBook(of: account).lots.contains { expiring.contains($0.expiresAt) } }.prefix(limit))
    }

    public func entries(coded code: EntryCode, of origin: NodeID, during: Range<Int64>, after: Int64, limit: Int) -> [LedgerEntry] {
        Array((log[origin] ?? []).lazy.filter {
            $0.id.sequence > after && $0.code == code && during.contains($0.timestamp.wallMilliseconds) && !self.duplicates.contains($0.id)
        }.prefix(limit))
    }

    public func isChainNode(_ node: NodeID) -> Bool {
        if let member = members.first(where: { $0.id == node }) { return !member.retired }
        return node == origin || log[node] != nil
    }

    public func monthlyCounters(in month: CalendarMonth) -> MonthlyCounters {
        var counters = MonthlyCounters()
        for (key, perOrigin) in balances where key.asset == .points && key.account.isSystem {
            counters.add(key.account, posted: perOrigin.values.reduce(Balance(), +).posted, in: month)
        }
        return counters
    }

    public func issued(by store: NodeID?, in month: CalendarMonth) -> Points {
        var total = Points.zero
        for (key, perOrigin) in balances where key.asset == .points {
            let counted = store.map { key.account == LedgerAccount.issued(by: $0, in: month) } ?? LedgerAccount.isIssued(key.account, in: month)
            guard counted else { continue }
            total -= perOrigin.values.reduce(Balance(), +).posted
        }
        return total
    }

    public func linkedEntries(_ link: String) -> [LedgerEntry] {
        (links[link] ?? []).compactMap { byID[$0] }
    }

    /// A local write at physical time `now` on a node with `settings`, decided by the rules
    /// against this ledger. `holdersAsked`: as `RequestContext.holdersAsked`.
    public mutating func write(_ write: PreparedWrite, now: Int64, settings: NodeSettings = NodeSettings(), holdersAsked: HoldersAsked? = nil) throws -> WriteDecision {
        let id = EntryID(origin: origin, sequence: versionVector()[origin] + 1)
        let timestamp = clock.tick(now: now)
        let context = RequestContext(node: origin, now: timestamp.wallMilliseconds, settings: settings, holdersAsked: holdersAsked)
        let decision = try LedgerRules.decide(write, from: self, id: id, timestamp: timestamp, context: context)
        if case .append(let entry) = decision {
            store(entry)
            if let sealer {
                let seal = try sealer.seal(EntrySeal.message(origin: origin, chain: chains[origin] ?? .empty))
                seals[entry.id] = seal
                certificates[seal.certificate] = sealer.certificate
            }
        }
        return decision
    }

    /// The ledger after a crash: what it holds on disk (its entries, their seals and its key)
    /// applied again, origin by origin in sequence order (a different order from the one they
    /// arrived in), so every derived state (counting copies, voids, counters, the clock) is
    /// rebuilt from the entries.
    /// Reads the clock, moving it past the reading: every entry written later is stamped after
    /// it (`LedgerStore.tickClock`).
    public mutating func tickClock(now: Int64) -> HLCTimestamp {
        let reading = clock.tick(now: now)
        clockFloor = reading
        return reading
    }

    public func restarted() -> MemoryLedger {
        var fresh = MemoryLedger(origin: origin)
        fresh.members = members
        fresh.clockFloor = clockFloor
        fresh.clock.observe(clockFloor)
        fresh.sealer = sealer
        fresh.sealPolicy = sealPolicy
        for origin in versionVector().sequences.keys.sorted() {
            _ = fresh.apply(entries(of: origin, after: 0, limit: .max))
        }
        fresh.seals = seals
        fresh.certificates = certificates
        return fresh
    }

    /// Applies a received batch under `sealPolicy` (`SealCheck.admit`), keeping the seals on what
    /// it stores and the certificates they name.
    public mutating func apply(_ batch: SealedEntries, from sender: NodeID?) -> AppliedEntries {
        let known = certificates
        let certified = sealPolicy.certifiedOrigins(among: known.values)
        let admission = SealCheck.admit(batch, held: { chains[$0] ?? .empty }, certificate: { known[$0] ?? batch.certificates[$0] },
                                        policy: sealPolicy, sender: sender, certified: certified.contains)
        for (id, seal) in admission.seals {
            seals[id] = seal
            if certificates[seal.certificate] == nil { certificates[seal.certificate] = batch.certificates[seal.certificate] }
        }
        return AppliedEntries(stored: apply(admission.entries), awaitingSeal: admission.awaitingSeal, refusals: admission.refusals)
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
        byID[entry.id] = entry
        chains[entry.id.origin] = (chains[entry.id.origin] ?? .empty).extended(sequence: entry.id.sequence, bytes: EntryCoding.encode(entry))
        // A late campaign credit counts only while its earning entry does (`CampaignCredit`).
        if let purchase = EntryKinds.countsOnlyWith(entry), duplicates.contains(purchase) {
            duplicates.insert(entry.id)
            return
        }
        switch ReceivedEntryEffect.of(entry, counting: counting[entry.idempotencyKey] ?? []) {
        case .counts:
            count(entry, sign: 1)
        case .duplicate:
            duplicates.insert(entry.id)
        case .supersedes(let loser):
            for credit in EntryKinds.dependentsLinks(of: loser.id).flatMap(linkedEntries) {
                count(credit, sign: -1)
                duplicates.insert(credit.id)
            }
            count(loser, sign: -1)
            duplicates.insert(loser.id)
            count(entry, sign: 1)
        }
        if let receipt = RefundCondition.receipt(affectedBy: entry) { reconcileRefunds(of: receipt) }
        if FamilyCondition.mayChangeStanding(entry) { reconcileTransfers(of: entry.customerAccounts) }
    }

    /// Takes the moves of transfers of `accounts` that became void out of the counters, and
    /// puts back those that stand again (`LedgerWriter.reconcileTransfers` on disk).
    private mutating func reconcileTransfers(of accounts: [AccountID]) {
        let transfers = Set(accounts.flatMap { accountEntries[$0] ?? [] }).compactMap { byID[$0] }
            .filter { FamilyCondition.conditionedCodes.contains($0.code) && !duplicates.contains($0.id) }
        for transfer in transfers {
            guard let stands = try? FamilyCondition.stands(transfer, in: self), voids.contains(transfer.id) == stands else { continue }
            if stands { voids.remove(transfer.id) } else { voids.insert(transfer.id) }
            countMoves(transfer, sign: stands ? 1 : -1)
        }
    }

    /// Takes the moves of refunds of `receipt` that became void out of the counters, and puts
    /// back those that stand again (`LedgerWriter.reconcileRefunds` does the same on disk).
    private mutating func reconcileRefunds(of receipt: ReceiptID) {
        guard let (refunds, void) = try? RefundCondition.void(of: receipt, in: self) else { return }
        for refund in refunds where voids.contains(refund.id) != void.contains(refund.id) {
            if void.contains(refund.id) { voids.insert(refund.id) } else { voids.remove(refund.id) }
            countMoves(refund, sign: void.contains(refund.id) ? -1 : 1)
        }
    }

    private mutating func countMoves(_ entry: LedgerEntry, sign: Int64) {
        for (key, delta) in MoveEffects.changes(of: entry.moves) where MoveEffects.isCounted(key) {
            balances[key, default: [:]][entry.id.origin, default: Balance()] += delta.scaled(by: sign)
        }
    }

    private mutating func count(_ entry: LedgerEntry, sign: Int64) {
        // A void entry's moves are out of the counters already; one that stops counting is no
        // longer void.
        if voids.contains(entry.id) {
            if sign < 0 { voids.remove(entry.id) }
        } else {
            countMoves(entry, sign: sign)
        }
        for link in EntryLinks.of(entry.details) {
            if sign > 0 { links[link, default: []].insert(entry.id) } else { links[link]?.remove(entry.id) }
        }
        for account in entry.customerAccounts {
            if sign > 0 { accountEntries[account, default: []].insert(entry.id) } else { accountEntries[account]?.remove(entry.id) }
        }
        var copies = counting[entry.idempotencyKey] ?? []
        copies.removeAll { $0.id == entry.id }
        if sign > 0 {
            copies.append(entry)
            copies.sort(by: ReplicationRules.precedes)
        }
        counting[entry.idempotencyKey] = copies.isEmpty ? nil : copies
    }
}
