import PointMeshCore

extension LedgerDatabase {
    /// Counting entries whose moves the converged history voids and so are not in the counters:
    /// refunds past their purchase (`RefundCondition`). Kept so that a change of standing adds
    /// or takes back exactly what was counted.
    static let voidSchema = """
        CREATE TABLE IF NOT EXISTS void_entries (
            origin TEXT    NOT NULL,
            seq    INTEGER NOT NULL,
            PRIMARY KEY (origin, seq)
        ) WITHOUT ROWID
        """

    /// Whether the entry's moves are out of the counters because the converged history voids it.
    public func isVoid(_ id: EntryID) throws -> Bool {
        try connection.first("SELECT 1 FROM void_entries WHERE origin = ? AND seq = ?", .text(id.origin.rawValue), .integer(id.sequence)) { _ in true } ?? false
    }

    /// Forgets that an entry was void (it stopped counting: a losing copy).
    func forgetVoid(_ id: EntryID) throws {
        try connection.run("DELETE FROM void_entries WHERE origin = ? AND seq = ?", .text(id.origin.rawValue), .integer(id.sequence))
    }

    /// Brings the counters and `void_entries` in line with which refunds of `receipts` stand now
    /// (`RefundCondition`): a refund that became void has its moves taken back, one that stands
    /// again added; the accounts of either go into `stale` (their lots are folded again).
    func reconcileRefunds(of receipts: Set<ReceiptID>, stale: inout Set<AccountID>) throws {
        for receipt in receipts.sorted(by: { $0.rawValue < $1.rawValue }) {
            let (refunds, void) = try RefundCondition.void(of: receipt, in: self)
            for refund in refunds {
                let voided = void.contains(refund.id)
                guard try isVoid(refund.id) != voided else { continue }
                if voided {
                    try connection.run("INSERT INTO void_entries (origin, seq) VALUES (?, ?)", .text(refund.id.origin.rawValue), .integer(refund.id.sequence))
                } else {
                    try forgetVoid(refund.id)
                }
                try count(refund, sign: voided ? -1 : 1)
                stale.formUnion(refund.customerAccounts)
            }
        }
    }

    /// Migration 9: the void table, and the refunds a 0.6 node accepted past their purchase
    /// voided (their counters taken back, their accounts' lots folded again).
    static func voidRefundsPastTheirPurchase(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute(voidSchema)
        let database = LedgerDatabase(connection: connection)
        let receipts = try connection.all("""
            SELECT DISTINCT substr(l.link, 9) FROM entry_links l JOIN ledger_entries e ON e.origin = l.origin AND e.seq = l.seq
            WHERE l.link LIKE 'receipt:%' AND e.code = ? AND e.duplicate = 0
            """, .integer(Int64(Refund.code.value))) { try? ReceiptID(validating: $0.text(0)) }
        var stale: Set<AccountID> = []
        try database.reconcileRefunds(of: Set(receipts.compactMap { $0 }), stale: &stale)
        guard !stale.isEmpty else { return }
        progress("refunds past their purchase: \(stale.count) accounts' refunds voided; folding their lots again")
        var cache = LotEventCache()
        for account in stale.sorted() { try database.rebuildLots(of: account, cache: &cache) }
    }

    /// Every entry kept as void.
    public func voidEntries() throws -> Set<EntryID> {
        Set(try connection.all("SELECT origin, seq FROM void_entries") { EntryID(origin: NodeID(unchecked: $0.text(0)), sequence: $0.int64(1)) })
    }
}
