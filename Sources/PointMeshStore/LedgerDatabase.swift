import PointMeshCore

/// The ledger's tables, read and written through one connection. Entries and the counters
/// derived from them are always written together, in the caller's transaction.
public final class LedgerDatabase: WriteFactsSource {
    public let connection: SQLiteConnection

    public init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Opens a read-write database at `path` as the node does (WAL, `synchronous=FULL`,
    /// migrated). The store and the benchmark's baseline both start here.
    public static func openForWriting(path: String) throws -> LedgerDatabase {
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = FULL")
        try Migrations.migrate(connection)
        return LedgerDatabase(connection: connection)
    }

    static let entryColumns = """
        origin, seq, hlc_wall, hlc_logical, kind, account, points, balance_delta, debt_delta, \
        balance_after, idem_key, request_hash, receipt, amount_fen, items, reward_id, member_id
        """

    // MARK: Writing

    /// Inserts `entry` and adds its deltas to the account's counters for its origin.
    public func append(_ entry: LedgerEntry) throws {
        try insert(entry, duplicate: false)
        try addToCounters(entry, sign: 1)
    }

    /// Stores an entry received from a peer. If another entry already counts for its
    /// idempotency key, the earlier of the two (`ReplicationRules.winner`) counts and the other
    /// is kept marked duplicate, with its deltas taken back if it had counted.
    public func applyReceived(_ entry: LedgerEntry) throws {
        switch ReceivedEntryEffect.of(entry, current: try countingEntry(for: entry.idempotencyKey)) {
        case .counts:
            try append(entry)
        case .duplicate:
            try insert(entry, duplicate: true)
        case .supersedes(let loser):
            try connection.run("UPDATE entries SET duplicate = 1 WHERE origin = ? AND seq = ?",
                               .text(loser.id.origin.rawValue), .integer(loser.id.sequence))
            try addToCounters(loser, sign: -1)
            try append(entry)
        }
    }

    private func insert(_ entry: LedgerEntry, duplicate: Bool) throws {
        try connection.run(
            "INSERT INTO entries (\(Self.entryColumns), duplicate) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            .text(entry.id.origin.rawValue), .integer(entry.id.sequence),
            .integer(entry.timestamp.wallMilliseconds), .integer(entry.timestamp.logical),
            .text(entry.kind.rawValue), .text(entry.account.rawValue), .integer(entry.points.value),
            .integer(entry.balanceDelta.value), .integer(entry.debtDelta.value), .integer(entry.balanceAfter.value),
            .text(entry.idempotencyKey.description), .text(entry.requestHash.hex),
            entry.receipt.map { .text($0.rawValue) } ?? .null,
            entry.amount.map { .integer($0.value) } ?? .null,
            entry.items.isEmpty ? .null : .text(ItemsColumn.encode(entry.items)),
            entry.rewardID.map { .text($0.rawValue) } ?? .null,
            entry.memberID.map { .text($0.rawValue) } ?? .null,
            .integer(duplicate ? 1 : 0))
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) an entry's deltas in its origin's counters.
    private func addToCounters(_ entry: LedgerEntry, sign: Int64) throws {
        // Taking back subtracts from the same totals adding added to, so the counters stay equal
        // to a recomputation from the entries that count, whatever order entries arrived in.
        let balance = entry.balanceDelta.value, debt = entry.debtDelta.value
        try connection.run("""
            INSERT INTO counters (account, origin, credit, debit, debt_up, debt_down) VALUES (?,?,?,?,?,?)
            ON CONFLICT (account, origin) DO UPDATE SET
                credit = credit + excluded.credit, debit = debit + excluded.debit,
                debt_up = debt_up + excluded.debt_up, debt_down = debt_down + excluded.debt_down
            """,
            .text(entry.account.rawValue), .text(entry.id.origin.rawValue),
            .integer(max(balance, 0) * sign), .integer(max(-balance, 0) * sign),
            .integer(max(debt, 0) * sign), .integer(max(-debt, 0) * sign))
    }

    // MARK: Facts for decisions (`WriteFacts.gather`)

    public func countingEntry(for key: IdempotencyKey) throws -> LedgerEntry? {
        try connection.first(
            "SELECT \(Self.entryColumns) FROM entries WHERE idem_key = ? AND duplicate = 0 LIMIT 1",
            .text(key.description), row: decodeEntry)
    }

    public func refundedAmount(of receipt: ReceiptID) throws -> Fen {
        Fen(try connection.first(
            "SELECT COALESCE(SUM(amount_fen), 0) FROM entries WHERE receipt = ? AND kind = 'refund' AND duplicate = 0",
            .text(receipt.rawValue)) { $0.int64(0) } ?? 0)
    }

    // MARK: Reading

    /// Up to `limit` entries of `origin` after sequence `after`, in sequence order.
    public func entries(of origin: NodeID, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try connection.all(
            "SELECT \(Self.entryColumns) FROM entries WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
            .text(origin.rawValue), .integer(after), .integer(Int64(limit)), row: decodeEntry)
    }

    /// Whether the entry is stored as a duplicate of another that counts.
    public func isDuplicate(_ id: EntryID) throws -> Bool {
        try connection.first("SELECT duplicate FROM entries WHERE origin = ? AND seq = ?",
                             .text(id.origin.rawValue), .integer(id.sequence)) { $0.int64(0) == 1 } ?? false
    }

    /// The remembered peer list.
    public func peers() throws -> [MemberRecord] {
        try connection.all("SELECT node_id, address, retired FROM peers ORDER BY node_id") { row in
            MemberRecord(id: NodeID(unchecked: row.text(0)), address: row.text(1), retired: row.int64(2) == 1)
        }
    }

    func savePeers(_ records: [MemberRecord]) throws {
        try connection.execute("DELETE FROM peers")
        for record in records {
            try connection.run("INSERT INTO peers (node_id, address, retired) VALUES (?, ?, ?)",
                               .text(record.id.rawValue), .text(record.address), .integer(record.retired ? 1 : 0))
        }
    }

    /// Balance and debt summed over origins in SQL: the hot path of every write.
    public func accountState(of account: AccountID) throws -> AccountState {
        try connection.first(
            "SELECT COALESCE(SUM(credit) - SUM(debit), 0), COALESCE(SUM(debt_up) - SUM(debt_down), 0) FROM counters WHERE account = ?",
            .text(account.rawValue)
        ) { AccountState(balance: Points($0.int64(0)), debt: Points($0.int64(1))) } ?? AccountState(balance: .zero, debt: .zero)
    }

    /// One page of an account's entries, newest first, strictly older than `cursor` if given.
    public func entries(of account: AccountID, before cursor: EntryCursor?, limit: Int) throws -> [LedgerEntry] {
        let sql = """
            SELECT \(Self.entryColumns) FROM entries WHERE account = ?
            \(cursor == nil ? "" : "AND (hlc_wall, hlc_logical, origin, seq) < (?, ?, ?, ?)")
            ORDER BY hlc_wall DESC, hlc_logical DESC, origin DESC, seq DESC LIMIT ?
            """
        let values: [SQLiteStatement.Value] = if let cursor {
            [.text(account.rawValue), .integer(cursor.timestamp.wallMilliseconds), .integer(cursor.timestamp.logical),
             .text(cursor.id.origin.rawValue), .integer(cursor.id.sequence), .integer(Int64(limit))]
        } else {
            [.text(account.rawValue), .integer(Int64(limit))]
        }
        return try connection.withStatement(sql, values) { query in
            var page: [LedgerEntry] = []
            while try query.step() { page.append(try decodeEntry(query)) }
            return page
        }
    }

    /// Highest sequence held per origin. Entries are only ever appended in sequence order per
    /// origin, so this is also the gap-free prefix.
    public func versionVector() throws -> VersionVector {
        let rows = try connection.all("SELECT origin, MAX(seq) FROM entries GROUP BY origin") {
            (NodeID(unchecked: $0.text(0)), $0.int64(1))
        }
        return VersionVector(Dictionary(uniqueKeysWithValues: rows))
    }

    /// The newest timestamp `origin` wrote, so a restarted node's clock never runs backwards.
    public func lastTimestamp(of origin: NodeID) throws -> HLCTimestamp {
        try connection.first(
            "SELECT hlc_wall, hlc_logical FROM entries WHERE origin = ? ORDER BY seq DESC LIMIT 1", .text(origin.rawValue)
        ) { HLCTimestamp(wallMilliseconds: $0.int64(0), logical: $0.int64(1)) } ?? .zero
    }

    func decodeEntry(_ row: SQLiteStatement) throws -> LedgerEntry {
        let origin = row.text(0), keyText = row.text(10), kindText = row.text(4)
        guard let kind = EntryKind(rawValue: kindText), let key = IdempotencyKey(parsing: keyText) else {
            throw StoreError.corruptRow("entry \(origin):\(row.int64(1)) kind=\(kindText) key=\(keyText)")
        }
        return LedgerEntry(
            id: EntryID(origin: NodeID(unchecked: origin), sequence: row.int64(1)),
            timestamp: HLCTimestamp(wallMilliseconds: row.int64(2), logical: row.int64(3)),
            kind: kind, account: AccountID(unchecked: row.text(5)), points: Points(row.int64(6)),
            balanceDelta: Points(row.int64(7)), debtDelta: Points(row.int64(8)), balanceAfter: Points(row.int64(9)),
            idempotencyKey: key, requestHash: RequestHash(hex: row.text(11)),
            receipt: row.optionalText(12).map(ReceiptID.init(unchecked:)),
            amount: row.optionalInt64(13).map(Fen.init),
            items: try row.optionalText(14).map(ItemsColumn.decode) ?? [],
            rewardID: row.optionalText(15).map(RequestID.init(unchecked:)),
            memberID: row.optionalText(16).map(AccountID.init(unchecked:)))
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

/// Purchase items in one text column: `sku,category,amount` per item, `;` between items.
/// Skus and categories are ids, whose alphabet has neither separator.
enum ItemsColumn {
    static func encode(_ items: [PurchaseItem]) -> String {
        items.map { "\($0.sku),\($0.category),\($0.amount.value)" }.joined(separator: ";")
    }

    static func decode(_ text: String) throws -> [PurchaseItem] {
        try text.split(separator: ";").map { part in
            let fields = part.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 3, let amount = Int64(fields[2]) else {
                throw StoreError.corruptRow("items column: \(text)")
            }
            return PurchaseItem(sku: SKU(unchecked: String(fields[0])), category: CategoryID(unchecked: String(fields[1])), amount: Fen(amount))
        }
    }
}
