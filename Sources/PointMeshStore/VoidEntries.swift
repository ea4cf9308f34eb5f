import PointMeshCore

extension LedgerWriter {
    /// Counting entries whose moves the converged history voids and so are not in the counters
    /// (`EntryCondition`): refunds past their purchase (`RefundCondition`) and transfers between
    /// accounts not in their family for the cooling-off period (`FamilyCondition`, whose counted
    /// moves are a receiver's debt repayment). Kept so that a change of standing adds or takes
    /// back exactly what was counted.
    static let voidSchema = """
        CREATE TABLE IF NOT EXISTS void_entries (
            origin TEXT    NOT NULL,
            seq    INTEGER NOT NULL,
            PRIMARY KEY (origin, seq)
        ) WITHOUT ROWID
        """

    /// Forgets that an entry was void (it stopped counting: a losing copy).
    func forgetVoid(_ id: EntryID) throws {
        try connection.run("DELETE FROM void_entries WHERE origin = ? AND seq = ?", .text(id.origin.rawValue), .integer(id.sequence))
    }

    /// Brings the counters and `void_entries` in line with which refunds of `receipts` stand now
    /// (`RefundCondition`): a refund that became void has its moves taken back, one that stands
    /// again added; the accounts of either go into `stale` (their lots are folded again).
    func reconcileRefunds(of receipts: Set<ReceiptID>, stale: inout Set<AccountID>) throws {
        for receipt in receipts.sorted(by: { $0.rawValue < $1.rawValue }) {
            let (refunds, void) = try RefundCondition.void(of: receipt, in: reader)
            for refund in refunds {
                let voided = void.contains(refund.id)
                guard try reader.isVoid(refund.id) != voided else { continue }
                try setVoid(refund.id, voided)
                try count(refund, sign: voided ? -1 : 1)
                stale.formUnion(refund.customerAccounts)
            }
        }
    }

    /// Brings the counters and `void_entries` in line with which transfers of `accounts` stand
    /// now (`FamilyCondition`): a join or leave that lands before a transfer, or a transfer
    /// that lands after a leave, can change it. The parties of a transfer whose standing changed
    /// go into `stale`.
    func reconcileTransfers(of accounts: Set<AccountID>, stale: inout Set<AccountID>) throws {
        var seen: Set<EntryID> = []
        for account in accounts.sorted() {
            for transfer in try reader.entries(of: account, conditionedOn: .family) where seen.insert(transfer.id).inserted {
                let voided = try !FamilyCondition.stands(transfer, in: reader)
                guard try reader.isVoid(transfer.id) != voided else { continue }
                try setVoid(transfer.id, voided)
                try count(transfer, sign: voided ? -1 : 1)
                stale.formUnion(transfer.customerAccounts)
            }
        }
    }

    private func setVoid(_ id: EntryID, _ voided: Bool) throws {
        if voided {
            try connection.run("INSERT INTO void_entries (origin, seq) VALUES (?, ?)", .text(id.origin.rawValue), .integer(id.sequence))
        } else {
            try forgetVoid(id)
        }
    }

    /// Migration "void-transfers": transfers the converged history voids are kept in `void_entries` like void
    /// refunds. None written before carried a counted move, so no counter changes.
    static func keepVoidTransfers(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        let database = LedgerWriter(connection: connection)
        var parties: [AccountID] = []
        for code in EntryKinds.codes(conditionedOn: .family) {
            parties += try connection.all("""
                SELECT DISTINCT a.account FROM entry_accounts a JOIN ledger_entries e ON e.origin = a.origin AND e.seq = a.seq
                WHERE e.code = ? AND e.duplicate = 0
                """, .integer(Int64(code.value))) { AccountID(unchecked: $0.text(0)) }
        }
        var stale: Set<AccountID> = []
        try database.reconcileTransfers(of: Set(parties), stale: &stale)
        if !stale.isEmpty { progress("void transfers: kept as void for \(stale.count) accounts") }
    }

    /// Migration "void-refunds": the void table, and the refunds a 0.6 node accepted past their purchase
    /// voided (their counters taken back, their accounts' lots folded again).
    static func voidRefundsPastTheirPurchase(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute(voidSchema)
        let database = LedgerWriter(connection: connection)
        var receipts: [ReceiptID?] = []
        for code in EntryKinds.codes(conditionedOn: .refund) {
            receipts += try connection.all("""
                SELECT DISTINCT substr(l.link, 9) FROM entry_links l JOIN ledger_entries e ON e.origin = l.origin AND e.seq = l.seq
                WHERE l.link LIKE 'receipt:%' AND e.code = ? AND e.duplicate = 0
                """, .integer(Int64(code.value))) { try? ReceiptID(validating: $0.text(0)) }
        }
        var stale: Set<AccountID> = []
        try database.reconcileRefunds(of: Set(receipts.compactMap { $0 }), stale: &stale)
        guard !stale.isEmpty else { return }
        progress("refunds past their purchase: \(stale.count) accounts' refunds voided; folding their lots again")
        var cache = LotEventCache()
        for account in stale.sorted() { try database.fold.rebuildLots(of: account, cache: &cache, caches: &database.caches) }
    }
}

extension LedgerReader {
    /// Whether the entry's moves are out of the counters because the converged history voids it.
    public func isVoid(_ id: EntryID) throws -> Bool {
        try connection.first("SELECT 1 FROM void_entries WHERE origin = ? AND seq = ?", .text(id.origin.rawValue), .integer(id.sequence)) { _ in true } ?? false
    }

    /// Every entry kept as void.
    public func voidEntries() throws -> Set<EntryID> {
        Set(try connection.all("SELECT origin, seq FROM void_entries") { EntryID(origin: NodeID(unchecked: $0.text(0)), sequence: $0.int64(1)) })
    }

    /// The counting entries `account` is a party to whose kinds stand under `condition`.
    func entries(of account: AccountID, conditionedOn condition: EntryConditions) throws -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        for code in EntryKinds.codes(conditionedOn: condition) {
            entries += try connection.all("""
                SELECT e.body FROM entry_accounts a JOIN ledger_entries e ON e.origin = a.origin AND e.seq = a.seq
                WHERE a.account = ? AND e.code = ? AND e.duplicate = 0
                """, .text(account.rawValue), .integer(Int64(code.value))) { row in
                do {
                    return try EntryCoding.decode(row.blob(0))
                } catch {
                    throw StoreError.corruptRow("an entry of \(account) does not decode: \(error)")
                }
            }
        }
        return entries
    }
}
