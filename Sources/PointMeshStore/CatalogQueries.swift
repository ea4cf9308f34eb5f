import PointMeshCore

/// HQ's definitions and the issuance counters the budget is checked against.
extension LedgerReader {
    public func entries(coded code: EntryCode, of origin: NodeID, during: Range<Int64>, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try connection.all("""
            SELECT body FROM ledger_entries WHERE origin = ? AND seq > ? AND code = ? AND duplicate = 0 AND hlc_wall >= ? AND hlc_wall < ?
            ORDER BY seq LIMIT ?
            """, .text(origin.rawValue), .integer(after), .integer(Int64(code.value)), .integer(during.lowerBound), .integer(during.upperBound),
            .integer(Int64(limit)), row: Self.decode)
    }

    /// How many definition entries the node holds: the late-credit sweep runs again when it changes.
    public func catalogEntryCount() throws -> Int {
        try connection.first("SELECT COUNT(*) FROM entry_links WHERE link = ?", .text(Catalog.link)) { Int($0.int64(0)) } ?? 0
    }

    /// The customers who ever joined a family with auto-pooling (a superset of those who
    /// auto-pool now), from the entries of the kinds that declare the `autoPooling` fold.
    func autoPoolers() throws -> Set<AccountID> {
        var accounts: Set<AccountID> = []
        for code in EntryKinds.codes(folding: .autoPooling) {
            for entry in try connection.all(Self.joinsSQL, .integer(Int64(code.value)), row: Self.decode) {
                if case .join(_, true)? = FamilyMembership.change(of: entry), let member = entry.customerAccounts.first { accounts.insert(member) }
            }
        }
        return accounts
    }

    /// Entries of one rare code (family joins), through the partial index of rare codes (the
    /// query repeats its condition).
    static let joinsSQL = "SELECT body FROM ledger_entries WHERE code = ? AND code > 3 AND duplicate = 0"

    /// Every store's issuance counters of one month (month text, asset, the accounts' pattern).
    /// It repeats the index's condition word for word (SQLite uses a partial index only then)
    /// and reads the month's rows of it, not every store's counters of every month.
    static let chainIssuedSQL = """
        SELECT SUM(debits_posted - credits_posted) FROM balances
        WHERE account GLOB '@issued:*' AND substr(account, -7) = ? AND asset = ? AND account GLOB ?
        """

    /// The index `chainIssuedSQL` reads (migration "issued-by-month-index"): monthly counters end with `YYYY-MM`.
    static let issuedByMonthIndex = "CREATE INDEX balances_issued_by_month ON balances (substr(account, -7), asset) WHERE account GLOB '@issued:*'"

    /// Every store's issuance counter of one month, through the index `chainIssuedSQL` reads,
    /// and every node's rights to issue of it, through the balances' key (a prefix of the name).
    static let monthlyCountersSQL = """
        SELECT account, SUM(credits_posted - debits_posted) FROM balances
        WHERE account GLOB '@issued:*' AND substr(account, -7) = ?1 AND asset = ?2 AND account GLOB ?3 GROUP BY account
        UNION ALL
        SELECT account, SUM(credits_posted - debits_posted) FROM balances
        WHERE account >= '@rights-to-issue:' AND account < '@rights-to-issue;' AND account GLOB ?4 AND asset = ?2 GROUP BY account
        """

    public func monthlyCounters(in month: CalendarMonth) throws -> MonthlyCounters {
        var counters = MonthlyCounters()
        let rows = try connection.all(Self.monthlyCountersSQL, .text("\(month)"), .integer(Int64(Asset.points.code)), .text("@issued:*:\(month)"),
                                      .text("@\(LedgerAccount.MonthlyCounter.rightsToIssue.rawValue):*:\(month)")) { ($0.text(0), Points($0.int64(1))) }
        for (account, posted) in rows { counters.add(LedgerAccount(unchecked: account), posted: posted, in: month) }
        return counters
    }

    public func issued(by store: NodeID?, in month: CalendarMonth) throws -> Points {
        let points = SQLiteStatement.Value.integer(Int64(Asset.points.code))
        let sum: Int64?
        if let store {
            sum = try connection.first("SELECT SUM(debits_posted - credits_posted) FROM balances WHERE account = ? AND asset = ?",
                                       .text(LedgerAccount.issued(by: store, in: month).name), points) { $0.optionalInt64(0) } ?? nil
        } else {
            sum = try connection.first(Self.chainIssuedSQL, .text("\(month)"), points, .text("@issued:*:\(month)")) { $0.optionalInt64(0) } ?? nil
        }
        return Points(sum ?? 0)
    }
}
