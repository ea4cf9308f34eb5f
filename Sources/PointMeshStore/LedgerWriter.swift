import PointMeshCore

/// The one connection that writes: it stores entries and keeps everything derived from them
/// equal to them in the caller's transaction (an entry, the rows that index it, the balance
/// counters its moves change, void and clash rows, and its accounts' lots through `LotFold`).
/// Every counter change comes from `MoveEffects`. It reads through its own `reader` and is the
/// facts source of the decisions it writes, answering the facts every write reads from
/// `WriterCaches` (only this connection's writes change them).
public final class LedgerWriter: FactsSource {
    /// Reads through the writer's connection: they see its uncommitted writes.
    public let reader: LedgerReader
    /// What the writer keeps in memory between writes: valid, or dropped whole for a fresh one.
    var caches = WriterCaches()
    /// Whether the database has the feed yet: the migrations before "feed-order" insert
    /// entries too (upgrading older releases' rows), and that migration lists them all.
    private lazy var keepsFeed = (try? connection.first("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feed'") { _ in true }) == true
    let fold: LotFold
    /// The report sums (`DayCell`) the writes since the last `flushDayCells` changed: summed
    /// over a group commit and written once per cell before it commits.
    var pendingDayCells: [DayCell: Points] = [:]

    public var connection: SQLiteConnection { reader.connection }

    /// A writer on `connection`, caching from its first write: it must be the only connection
    /// that writes the database while it lives (the node's is; migrations, tools and tests open
    /// one alone), or the facts it caches go stale.
    public init(connection: SQLiteConnection) {
        reader = LedgerReader(connection: connection)
        fold = LotFold(reader: reader)
    }

    /// Opens a read-write database at `path` as the node does (WAL, `synchronous=FULL`,
    /// migrated; `progress` hears of long migrations).
    public static func open(path: String, progress: (String) -> Void = { _ in }) throws -> LedgerWriter {
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = FULL")
        try Migrations.registry.migrate(connection, progress: progress)
        return LedgerWriter(connection: connection)
    }

    /// Drops what is cached from the database: the transaction that may have changed it rolled back.
    public func dropCaches() {
        caches = WriterCaches()
        pendingDayCells = [:]
    }

    /// Stores `entry` (counting), a write this node just decided, and adds its moves to the
    /// balance counters of its origin and to its accounts' lots. It must be newer than every
    /// entry held (as the writer's clock makes it); received entries go through `applyReceived`.
    public func append(_ entry: LedgerEntry) throws {
        var chains: [NodeID: OriginChain] = [:]
        try append(entry, chains: &chains)
        try flushDayCells()
    }

    /// `append`, with the origins' hash chains carried by the caller through a transaction, so
    /// a group commit looks each origin's chain up once; the caller flushes the day cells
    /// before it commits (`flushDayCells`).
    func append(_ entry: LedgerEntry, chains: inout [NodeID: OriginChain]) throws {
        let accounts = entry.customerAccounts
        try insert(entry, duplicate: false, accounts: accounts, chains: &chains)
        try count(entry, sign: 1)
        var stale: Set<AccountID> = []
        try fold.updateLots(for: entry, accounts: accounts, isLocal: true, stale: &stale, caches: &caches)
        // A refund decided here stands (the rules counted only standing refunds), but a purchase
        // or credit decided here can change the standing of refunds of its receipt received
        // before it (their origin's purchase not here yet: the refund names this one's hash).
        if let receipt = RefundCondition.receipt(affectedBy: entry) {
            try reconcileRefunds(of: [receipt], stale: &stale)
            var cache = LotEventCache()
            for account in stale.sorted() { try fold.rebuildLots(of: account, cache: &cache, caches: &caches) }
        }
    }

    /// Stores entries received from a peer, each already admitted (the next of its origin), in
    /// order. If another entry already counts for an entry's idempotency key, the earlier of the
    /// two (`ReplicationRules.precedes`) counts and the other is kept marked duplicate, with its
    /// moves taken back if it had counted. Balance changes are summed over the batch and written
    /// once per counter: a catch-up batch of 1,000 earnings touches its store's issuance counter
    /// once, not 1,000 times. (Nothing in the batch reads a balance, so deferring is safe.)
    public func applyReceived(_ entries: [LedgerEntry]) throws {
        var chains: [NodeID: OriginChain] = [:]
        try applyReceived(entries, chains: &chains)
        try flushDayCells()
    }

    /// `applyReceived`, with the hash chains carried by the caller and the day cells flushed by
    /// it (see `append`).
    func applyReceived(_ entries: [LedgerEntry], chains: inout [NodeID: OriginChain]) throws {
        var deltas: [CounterKey: Balance] = [:]
        var stale: Set<AccountID> = []
        /// Receipts whose refunds' standing the batch may change (`RefundCondition`), and
        /// accounts whose transfers' (`FamilyCondition`: a join or leave that lands before a
        /// transfer decides whether it stands); those whose standing changed are folded again.
        var refunded: Set<ReceiptID> = []
        var transferring: Set<AccountID> = []
        for entry in entries {
            if let receipt = RefundCondition.receipt(affectedBy: entry) { refunded.insert(receipt) }
            if FamilyCondition.mayChangeStanding(entry) { transferring.formUnion(entry.customerAccounts) }
            // A late campaign credit counts only while its earning entry does.
            if let purchase = EntryKinds.countsOnlyWith(entry), try reader.isDuplicate(purchase) {
                try insert(entry, duplicate: true, chains: &chains)
                continue
            }
            let counting = try reader.countingEntries(for: entry.idempotencyKey)
            switch ReceivedEntryEffect.of(entry, counting: counting) {
            case .counts:
                if !counting.isEmpty { try recordClash(entry.idempotencyKey) }
                try insert(entry, duplicate: false, chains: &chains)
                try add(entry, sign: 1, to: &deltas)
                try fold.updateLots(for: entry, stale: &stale, caches: &caches)
            case .duplicate:
                try insert(entry, duplicate: true, chains: &chains)
            case .supersedes(let loser):
                try connection.run("UPDATE ledger_entries SET duplicate = 1 WHERE origin = ? AND seq = ?",
                                   .text(loser.id.origin.rawValue), .integer(loser.id.sequence))
                if let folds = EntryKinds.foldsByCode[loser.code] { caches.drop(folds) }
                // A void loser's moves were not counted: nothing to take back.
                if try reader.isVoid(loser.id) { try forgetVoid(loser.id) } else { try add(loser, sign: -1, to: &deltas) }
                try insert(entry, duplicate: false, chains: &chains)
                try add(entry, sign: 1, to: &deltas)
                // Which entry's lots exist changed under entries already folded: fold again.
                stale.formUnion(loser.customerAccounts)
                stale.formUnion(entry.customerAccounts)
                // The late campaign credits of an earning that stopped counting stop counting too.
                for credit in try EntryKinds.dependentsLinks(of: loser.id).flatMap(reader.linkedEntries) {
                    try connection.run("UPDATE ledger_entries SET duplicate = 1 WHERE origin = ? AND seq = ?",
                                       .text(credit.id.origin.rawValue), .integer(credit.id.sequence))
                    try add(credit, sign: -1, to: &deltas)
                    stale.formUnion(credit.customerAccounts)
                }
            }
        }
        for (key, delta) in deltas where !delta.isZero { try addToBalance(key.balance, origin: key.origin, delta) }
        try reconcileRefunds(of: refunded, stale: &stale)
        try reconcileTransfers(of: transferring, stale: &stale)
        var cache = LotEventCache()
        for account in stale.sorted() { try fold.rebuildLots(of: account, cache: &cache, caches: &caches) }
    }

    /// One counter row: a balance at one origin.
    struct CounterKey: Hashable {
        var balance: BalanceKey
        var origin: NodeID
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) an entry's moves in `deltas`, to be written
    /// once per counter, and its report figures in the pending day cells.
    func add(_ entry: LedgerEntry, sign: Int64, to deltas: inout [CounterKey: Balance]) throws {
        for (key, delta) in MoveEffects.changes(of: entry.moves) where MoveEffects.isCounted(key) {
            deltas[CounterKey(balance: key, origin: entry.id.origin), default: Balance()] += delta.scaled(by: sign)
        }
        try addDayCells(of: entry, sign: sign)
    }

    /// The entry row, with its origin's hash chain extended over its bytes (`chains` caches the
    /// chain per origin within a transaction), and its index rows (history per customer
    /// account, links). Entries of one origin must come in sequence order, as admission
    /// guarantees.
    func insert(_ entry: LedgerEntry, duplicate: Bool, accounts: [AccountID]? = nil, chains: inout [NodeID: OriginChain]) throws {
        let body = EntryCoding.encode(entry)
        let chain = try chains[entry.id.origin] ?? reader.chain(of: entry.id.origin)
        let extended = chain.extended(sequence: entry.id.sequence, bytes: body)
        chains[entry.id.origin] = extended
        if let folds = EntryKinds.foldsByCode[entry.code] { caches.drop(folds) }
        let origin = SQLiteStatement.Value.text(entry.id.origin.rawValue), sequence = SQLiteStatement.Value.integer(entry.id.sequence)
        let wall = SQLiteStatement.Value.integer(entry.timestamp.wallMilliseconds), logical = SQLiteStatement.Value.integer(entry.timestamp.logical)
        try connection.run(
            "INSERT INTO ledger_entries (origin, seq, hlc_wall, hlc_logical, code, idem_key, duplicate, body, chain) VALUES (?,?,?,?,?,?,?,?,?)",
            origin, sequence, wall, logical, .integer(Int64(bitPattern: entry.code.value)), .text(entry.idempotencyKey.description),
            .integer(duplicate ? 1 : 0), .blob(body), .blob(extended.hash))
        if keepsFeed { try connection.run("INSERT INTO feed (origin, seq) VALUES (?, ?)", origin, sequence) }
        for account in accounts ?? entry.customerAccounts {
            try connection.run("INSERT INTO entry_accounts (account, hlc_wall, hlc_logical, origin, seq) VALUES (?,?,?,?,?)",
                               .text(account.rawValue), wall, logical, origin, sequence)
        }
        for link in EntryLinks.of(entry.details) {
            try connection.run("INSERT OR IGNORE INTO entry_links (link, origin, seq) VALUES (?,?,?)", .text(link), origin, sequence)
        }
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) an entry's moves in its origin's counters.
    /// Taking back subtracts what adding added, so the counters stay equal to a recomputation
    /// from the entries that count, whatever order entries arrived in.
    /// Its report figures go to the pending day cells, as in `add`.
    func count(_ entry: LedgerEntry, sign: Int64) throws {
        for (key, delta) in MoveEffects.changes(of: entry.moves) where MoveEffects.isCounted(key) {
            try addToBalance(key, origin: entry.id.origin, delta.scaled(by: sign))
        }
        try addDayCells(of: entry, sign: sign)
    }

    func addToBalance(_ key: BalanceKey, origin: NodeID, _ delta: Balance) throws {
        // Debt moves are rare (refunds of spent points, repayments): forget every account's.
        if key.asset == .debt { caches.stableFacts = [:] }
        if let known = caches.chainIssued, key.asset == .points, LedgerAccount.isIssued(key.account, in: known.month) {
            caches.chainIssued?.points = known.points + Points(delta.debitsPosted - delta.creditsPosted)
        }
        try connection.run("""
            INSERT INTO balances (account, asset, origin, debits_posted, credits_posted, debits_pending, credits_pending)
            VALUES (?,?,?,?,?,?,?)
            ON CONFLICT (account, asset, origin) DO UPDATE SET
                debits_posted = debits_posted + excluded.debits_posted, credits_posted = credits_posted + excluded.credits_posted,
                debits_pending = debits_pending + excluded.debits_pending, credits_pending = credits_pending + excluded.credits_pending
            """,
            .text(key.account.name), .integer(Int64(bitPattern: key.asset.code)), .text(origin.rawValue),
            .integer(delta.debitsPosted), .integer(delta.creditsPosted), .integer(delta.debitsPending), .integer(delta.creditsPending))
    }

    /// The `meta` key of the last clock reading a holdings report was stamped with.
    static let clockFloorKey = "clock_floor"

    /// Keeps `reading` so the clock never starts below it again (`LedgerReader.startingClock`):
    /// every entry written after a holdings report is stamped after the report's reading.
    func keepClockFloor(_ reading: HLCTimestamp) throws {
        try saveMeta([Self.clockFloorKey: reading.description])
    }

    func saveMeta(_ values: [String: String]) throws {
        for (key, value) in values {
            try connection.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", .text(key), .text(value))
        }
    }

    func savePeers(_ records: [MemberRecord]) throws {
        try connection.execute("DELETE FROM peers")
        for record in records {
            try connection.run("INSERT INTO peers (node_id, address, retired) VALUES (?, ?, ?)",
                               .text(record.id.rawValue), .text(record.address), .integer(record.retired ? 1 : 0))
        }
    }
}
