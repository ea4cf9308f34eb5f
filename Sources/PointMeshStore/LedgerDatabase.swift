import PointMeshCore

/// The ledger's tables, read and written through one connection. An entry, the rows that index
/// it and the balance counters its moves change are always written together, in the caller's
/// transaction. Nothing here knows a kind: entries are stored as their encoded bytes
/// (`EntryCoding`) with the few columns queries need, and every counter change comes from
/// `MoveEffects`.
public final class LedgerDatabase: FactsSource {
    public let connection: SQLiteConnection
    /// What the writer keeps in memory between writes; nil on every other connection.
    var caches: WriterCaches?

    /// Keeps `WriterCaches` from now on: only for the writer's connection, the one whose own
    /// writes are the only ones that change what they hold.
    public func cacheWriterFacts() { caches = WriterCaches() }

    public init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Drops what is cached from the database: the transaction that may have changed it rolled back.
    public func forgetCachedFacts() {
        if caches != nil { caches = WriterCaches() }
    }

    /// Opens a read-write database at `path` as the node does (WAL, `synchronous=FULL`,
    /// migrated; `progress` hears of long migrations).
    public static func openForWriting(path: String, progress: (String) -> Void = { _ in }) throws -> LedgerDatabase {
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = FULL")
        try Migrations.registry.migrate(connection, progress: progress)
        return LedgerDatabase(connection: connection)
    }

    // MARK: Writing

    /// Stores `entry` (counting), a write this node just decided, and adds its moves to the
    /// balance counters of its origin and to its accounts' lots. It must be newer than every
    /// entry held (as the writer's clock makes it); received entries go through `applyReceived`.
    public func append(_ entry: LedgerEntry) throws {
        var chains: [NodeID: OriginChain] = [:]
        try append(entry, chains: &chains)
    }

    /// `append`, with the origins' hash chains carried by the caller through a transaction, so
    /// a group commit looks each origin's chain up once.
    func append(_ entry: LedgerEntry, chains: inout [NodeID: OriginChain]) throws {
        let accounts = entry.customerAccounts
        try insert(entry, duplicate: false, accounts: accounts, chains: &chains)
        try count(entry, sign: 1)
        var stale: Set<AccountID> = []
        try updateLots(for: entry, accounts: accounts, isLocal: true, stale: &stale)
        // A refund decided here stands (the rules counted only standing refunds), but a purchase
        // or credit decided here can change the standing of refunds of its receipt received
        // before it (their origin's purchase not here yet: the refund names this one's hash).
        if let receipt = RefundCondition.receipt(affectedBy: entry) {
            try reconcileRefunds(of: [receipt], stale: &stale)
            var cache = LotEventCache()
            for account in stale.sorted() { try rebuildLots(of: account, cache: &cache) }
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
    }

    /// `applyReceived`, with the hash chains carried by the caller (see `append`).
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
            if entry.code == Transfer.code || FamilyMembership.change(of: entry) != nil { transferring.formUnion(entry.customerAccounts) }
            // A late campaign credit counts only while its earning entry does.
            if let purchase = CampaignCredit.countsWith(entry), try isDuplicate(purchase) {
                try insert(entry, duplicate: true, chains: &chains)
                continue
            }
            let counting = try countingEntries(for: entry.idempotencyKey)
            switch ReceivedEntryEffect.of(entry, counting: counting) {
            case .counts:
                if !counting.isEmpty { try recordClash(entry.idempotencyKey) }
                try insert(entry, duplicate: false, chains: &chains)
                Self.add(entry, sign: 1, to: &deltas)
                try updateLots(for: entry, stale: &stale)
            case .duplicate:
                try insert(entry, duplicate: true, chains: &chains)
            case .supersedes(let loser):
                try connection.run("UPDATE ledger_entries SET duplicate = 1 WHERE origin = ? AND seq = ?",
                                   .text(loser.id.origin.rawValue), .integer(loser.id.sequence))
                if let folds = EntryKinds.foldsByCode[loser.code] { caches?.drop(folds) }
                // A void loser's moves were not counted: nothing to take back.
                if try isVoid(loser.id) { try forgetVoid(loser.id) } else { Self.add(loser, sign: -1, to: &deltas) }
                try insert(entry, duplicate: false, chains: &chains)
                Self.add(entry, sign: 1, to: &deltas)
                // Which entry's lots exist changed under entries already folded: fold again.
                stale.formUnion(loser.customerAccounts)
                stale.formUnion(entry.customerAccounts)
                // The late campaign credits of an earning that stopped counting stop counting too.
                for credit in try linkedEntries(CampaignCredit.creditsLink(loser.id)) {
                    try connection.run("UPDATE ledger_entries SET duplicate = 1 WHERE origin = ? AND seq = ?",
                                       .text(credit.id.origin.rawValue), .integer(credit.id.sequence))
                    Self.add(credit, sign: -1, to: &deltas)
                    stale.formUnion(credit.customerAccounts)
                }
            }
        }
        for (key, delta) in deltas where !delta.isZero { try addToBalance(key.balance, origin: key.origin, delta) }
        try reconcileRefunds(of: refunded, stale: &stale)
        try reconcileTransfers(of: transferring, stale: &stale)
        var cache = LotEventCache()
        for account in stale.sorted() { try rebuildLots(of: account, cache: &cache) }
    }

    /// One counter row: a balance at one origin.
    struct CounterKey: Hashable {
        var balance: BalanceKey
        var origin: NodeID
    }

    static func add(_ entry: LedgerEntry, sign: Int64, to deltas: inout [CounterKey: Balance]) {
        for (key, delta) in MoveEffects.changes(of: entry.moves) where MoveEffects.isCounted(key) {
            deltas[CounterKey(balance: key, origin: entry.id.origin), default: Balance()] += delta.scaled(by: sign)
        }
    }

    /// The entry row, with its origin's hash chain extended over its bytes (`chains` caches the
    /// chain per origin within a transaction), and its index rows (history per customer
    /// account, links). Entries of one origin must come in sequence order, as admission
    /// guarantees.
    func insert(_ entry: LedgerEntry, duplicate: Bool, accounts: [AccountID]? = nil, chains: inout [NodeID: OriginChain]) throws {
        let body = EntryCoding.encode(entry)
        let chain = try chains[entry.id.origin] ?? self.chain(of: entry.id.origin)
        let extended = chain.extended(sequence: entry.id.sequence, bytes: body)
        chains[entry.id.origin] = extended
        if let folds = EntryKinds.foldsByCode[entry.code] { caches?.drop(folds) }
        let origin = SQLiteStatement.Value.text(entry.id.origin.rawValue), sequence = SQLiteStatement.Value.integer(entry.id.sequence)
        let wall = SQLiteStatement.Value.integer(entry.timestamp.wallMilliseconds), logical = SQLiteStatement.Value.integer(entry.timestamp.logical)
        try connection.run(
            "INSERT INTO ledger_entries (origin, seq, hlc_wall, hlc_logical, code, idem_key, duplicate, body, chain) VALUES (?,?,?,?,?,?,?,?,?)",
            origin, sequence, wall, logical, .integer(Int64(bitPattern: entry.code.value)), .text(entry.idempotencyKey.description),
            .integer(duplicate ? 1 : 0), .blob(body), .blob(extended.hash))
        for account in accounts ?? entry.customerAccounts {
            try connection.run("INSERT INTO entry_accounts (account, hlc_wall, hlc_logical, origin, seq) VALUES (?,?,?,?,?)",
                               .text(account.rawValue), wall, logical, origin, sequence)
        }
        for link in EntryLinks.of(entry.details) {
            try connection.run("INSERT OR IGNORE INTO entry_links (link, origin, seq) VALUES (?,?,?)", .text(link), origin, sequence)
        }
    }

    /// The hash chain of `origin` up to its last entry held.
    func chain(of origin: NodeID) throws -> OriginChain {
        try connection.first("SELECT seq, chain FROM ledger_entries WHERE origin = ? ORDER BY seq DESC LIMIT 1", .text(origin.rawValue)) {
            OriginChain(sequence: $0.int64(0), hash: $0.blob(1))
        } ?? .empty
    }

    /// The digest of the entries held of `origins` (every origin held, normally: the version
    /// vector's keys), covering their bytes (`LedgerDigest`). One index seek per origin.
    public func ledgerDigest(origins: some Sequence<NodeID>) throws -> String {
        var chains: [NodeID: OriginChain] = [:]
        for origin in origins { chains[origin] = try chain(of: origin) }
        return LedgerDigest.of(chains)
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) an entry's moves in its origin's counters.
    /// Taking back subtracts what adding added, so the counters stay equal to a recomputation
    /// from the entries that count, whatever order entries arrived in.
    func count(_ entry: LedgerEntry, sign: Int64) throws {
        for (key, delta) in MoveEffects.changes(of: entry.moves) where MoveEffects.isCounted(key) {
            try addToBalance(key, origin: entry.id.origin, delta.scaled(by: sign))
        }
    }

    func addToBalance(_ key: BalanceKey, origin: NodeID, _ delta: Balance) throws {
        // Debt moves are rare (refunds of spent points, repayments): forget every account's.
        if key.asset == .debt { caches?.stableFacts = [:] }
        if let known = caches?.chainIssued, key.asset == .points, LedgerAccount.isIssued(key.account, in: known.month) {
            caches?.chainIssued?.points = known.points + Points(delta.debitsPosted - delta.creditsPosted)
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

    // MARK: Facts for decisions

    public func countingEntries(for key: IdempotencyKey) throws -> [LedgerEntry] {
        let entries = try connection.all("SELECT body FROM ledger_entries WHERE idem_key = ? AND duplicate = 0",
                                         .text(key.description), row: Self.decode)
        return entries.count > 1 ? entries.sorted(by: ReplicationRules.precedes) : entries
    }

    public func balance(_ key: BalanceKey) throws -> Balance {
        try connection.first("""
            SELECT COALESCE(SUM(debits_posted), 0), COALESCE(SUM(credits_posted), 0),
                   COALESCE(SUM(debits_pending), 0), COALESCE(SUM(credits_pending), 0)
            FROM balances WHERE account = ? AND asset = ?
            """, .text(key.account.name), .integer(Int64(bitPattern: key.asset.code))
        ) { Balance(debitsPosted: $0.int64(0), creditsPosted: $0.int64(1), debitsPending: $0.int64(2), creditsPending: $0.int64(3)) }
            ?? Balance()
    }

    public func linkedEntries(_ link: String) throws -> [LedgerEntry] {
        try connection.all("""
            SELECT e.body FROM entry_links l JOIN ledger_entries e ON e.origin = l.origin AND e.seq = l.seq
            WHERE l.link = ? AND e.duplicate = 0
            """, .text(link), row: Self.decode)
    }

    // MARK: Reading

    /// Up to `limit` entries of `origin` after sequence `after`, in sequence order.
    public func entries(of origin: NodeID, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try connection.all("SELECT body FROM ledger_entries WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
                           .text(origin.rawValue), .integer(after), .integer(Int64(limit)), row: Self.decode)
    }

    /// Whether the entry is stored as a duplicate of another that counts.
    public func isDuplicate(_ id: EntryID) throws -> Bool {
        try connection.first("SELECT duplicate FROM ledger_entries WHERE origin = ? AND seq = ?",
                             .text(id.origin.rawValue), .integer(id.sequence)) { $0.int64(0) == 1 } ?? false
    }

    /// The remembered peer list.
    public func peers() throws -> [MemberRecord] {
        try connection.all("SELECT node_id, address, retired FROM peers ORDER BY node_id") { row in
            MemberRecord(id: NodeID(unchecked: row.text(0)), address: row.text(1), retired: row.int64(2) == 1)
        }
    }

    /// The node's notes to itself (the `meta` table) whose keys start with `prefix`, by key.
    public func meta(withPrefix prefix: String) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try connection.all("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1", .text(prefix)) {
            ($0.text(0), $0.text(1))
        })
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

    /// One page of the entries touching a customer account, newest first, strictly older than
    /// `cursor` if given; each with whether it counts.
    public func entries(of account: AccountID, before cursor: EntryCursor?, limit: Int) throws -> [(entry: LedgerEntry, duplicate: Bool)] {
        let sql = """
            SELECT e.body, e.duplicate FROM entry_accounts a JOIN ledger_entries e ON e.origin = a.origin AND e.seq = a.seq
            WHERE a.account = ?
            \(cursor == nil ? "" : "AND (a.hlc_wall, a.hlc_logical, a.origin, a.seq) < (?, ?, ?, ?)")
            ORDER BY a.hlc_wall DESC, a.hlc_logical DESC, a.origin DESC, a.seq DESC LIMIT ?
            """
        let values: [SQLiteStatement.Value] = if let cursor {
            [.text(account.rawValue), .integer(cursor.timestamp.wallMilliseconds), .integer(cursor.timestamp.logical),
             .text(cursor.id.origin.rawValue), .integer(cursor.id.sequence), .integer(Int64(limit))]
        } else {
            [.text(account.rawValue), .integer(Int64(limit))]
        }
        return try connection.withStatement(sql, values) { query in
            var page: [(LedgerEntry, Bool)] = []
            while try query.step() { page.append((try Self.decode(query), query.int64(1) == 1)) }
            return page
        }
    }

    /// Highest sequence held per origin. Entries are only ever appended in sequence order per
    /// origin, so this is also the gap-free prefix.
    public func versionVector() throws -> VersionVector {
        let rows = try connection.all("SELECT origin, MAX(seq) FROM ledger_entries GROUP BY origin") {
            (NodeID(unchecked: $0.text(0)), $0.int64(1))
        }
        return VersionVector(Dictionary(uniqueKeysWithValues: rows))
    }

    /// The newest timestamp `origin` wrote, so a restarted node's clock never runs backwards.
    public func lastTimestamp(of origin: NodeID) throws -> HLCTimestamp {
        try connection.first(
            "SELECT hlc_wall, hlc_logical FROM ledger_entries WHERE origin = ? ORDER BY seq DESC LIMIT 1", .text(origin.rawValue)
        ) { HLCTimestamp(wallMilliseconds: $0.int64(0), logical: $0.int64(1)) } ?? .zero
    }

    static func decode(_ row: SQLiteStatement) throws -> LedgerEntry {
        do {
            return try EntryCoding.decode(row.blob(0))
        } catch {
            throw StoreError.corruptRow("entry does not decode: \(error)")
        }
    }
}

/// Position in an account's history, newest first: the last entry of the previous page.
public struct EntryCursor: Hashable, Sendable {
    public var timestamp: HLCTimestamp
    public var id: EntryID

    public init(timestamp: HLCTimestamp, id: EntryID) {
        self.timestamp = timestamp
        self.id = id
    }

    public init(after entry: LedgerEntry) {
        self.init(timestamp: entry.timestamp, id: entry.id)
    }

    /// `wall.logical.sequence.origin`: the origin goes last because it may contain dots.
    public var token: String {
        "\(timestamp.wallMilliseconds).\(timestamp.logical).\(id.sequence).\(id.origin.rawValue)"
    }

    public init?(token: String) {
        let parts = token.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let wall = Int64(parts[0]), let logical = Int64(parts[1]),
              let sequence = Int64(parts[2]), let origin = try? NodeID(validating: String(parts[3]))
        else { return nil }
        self.init(timestamp: HLCTimestamp(wallMilliseconds: wall, logical: logical),
                  id: EntryID(origin: origin, sequence: sequence))
    }
}

