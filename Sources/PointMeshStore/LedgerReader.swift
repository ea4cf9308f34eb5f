import PointMeshCore

/// Reads of the ledger's tables through one connection: a reader's from the pool, or the
/// writer's own (`LedgerWriter.reader`). Nothing here writes and nothing is cached: what a
/// query answers is what the connection's transaction sees. Nothing here knows a kind either:
/// entries are stored as their encoded bytes (`EntryCoding`) with the few columns queries need,
/// and what a query must know of kinds it reads from their declarations (`EntryKinds`).
public final class LedgerReader: FactsSource {
    public let connection: SQLiteConnection

    public init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Opens the database at `path` read-only, beside a running node or not, if its schema is
    /// this build's (`StoreError.schemaTooOld`: a node's start upgrades it; nothing here writes).
    public static func open(path: String) throws -> LedgerReader {
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        do {
            try Migrations.registry.requireLatest(connection)
        } catch {
            connection.close()
            throw error
        }
        return LedgerReader(connection: connection)
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

    /// Itself, a member as the membership was last saved (not retired), or an origin of entries
    /// held that is not a retired member.
    public func isChainNode(_ node: NodeID) throws -> Bool {
        try connection.first("""
            SELECT CASE WHEN EXISTS (SELECT 1 FROM peers WHERE node_id = ?1) THEN EXISTS (SELECT 1 FROM peers WHERE node_id = ?1 AND retired = 0)
                        ELSE EXISTS (SELECT 1 FROM meta WHERE key = 'node_id' AND value = ?1) OR EXISTS (SELECT 1 FROM ledger_entries WHERE origin = ?1)
                   END
            """, .text(node.rawValue)) { $0.int64(0) == 1 } ?? false
    }

    /// The node's notes to itself (the `meta` table) whose keys start with `prefix`, by key.
    public func meta(withPrefix prefix: String) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try connection.all("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1", .text(prefix)) {
            ($0.text(0), $0.text(1))
        })
    }

    /// One page of the entries touching a customer account, newest first, strictly older than
    /// `cursor` if given; each with whether it counts.
    /// `excluding`: kinds left out (rights grants: they move no points and a customer's history
    /// is no place for them).
    public func entries(of account: AccountID, before cursor: EntryCursor?, limit: Int, excluding: [EntryCode] = []) throws
        -> [(entry: LedgerEntry, duplicate: Bool)] {
        let sql = """
            SELECT e.body, e.duplicate FROM entry_accounts a JOIN ledger_entries e ON e.origin = a.origin AND e.seq = a.seq
            WHERE a.account = ? \(excluding.isEmpty ? "" : "AND e.code NOT IN (\(excluding.map { String($0.value) }.joined(separator: ",")))")
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

    /// The clock a writer starts from: past the newest timestamp of every origin held and the
    /// last reading a holdings report was stamped with (`LedgerWriter.keepClockFloor`), so a
    /// restarted node's clock never runs backwards, even with the wall clock stepped back.
    func startingClock() throws -> HybridLogicalClock {
        var clock = HybridLogicalClock()
        for held in try versionVector().sequences.keys { clock.observe(try lastTimestamp(of: held)) }
        if let floor = try meta(withPrefix: LedgerWriter.clockFloorKey)[LedgerWriter.clockFloorKey].flatMap(HLCTimestamp.init) {
            clock.observe(floor)
        }
        return clock
    }

    /// The newest timestamp `origin` wrote, so a restarted node's clock never runs backwards.
    public func lastTimestamp(of origin: NodeID) throws -> HLCTimestamp {
        try connection.first(
            "SELECT hlc_wall, hlc_logical FROM ledger_entries WHERE origin = ? ORDER BY seq DESC LIMIT 1", .text(origin.rawValue)
        ) { HLCTimestamp(wallMilliseconds: $0.int64(0), logical: $0.int64(1)) } ?? .zero
    }

    static func decode(_ row: SQLiteStatement) throws -> LedgerEntry { try decode(row, column: 0) }

    /// The entry whose encoded bytes are in `column`.
    static func decode(_ row: SQLiteStatement, column: Int32) throws -> LedgerEntry {
        do {
            return try EntryCoding.decode(row.blob(column))
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
