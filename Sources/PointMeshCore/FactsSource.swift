/// The look-ups a kind's decision may make, answered by the SQLite store and by `MemoryLedger`
/// alike, inside the write's transaction.
public protocol FactsSource {
    /// The entry that counts for `key` (never a duplicate), if any.
    func countingEntry(for key: IdempotencyKey) throws -> LedgerEntry?
    /// The totals of one balance, summed over origins; zero for one never touched.
    func balance(_ key: BalanceKey) throws -> Balance
    /// Counting entries that declared `link` (`EntryLinks`), in no particular order.
    func linkedEntries(_ link: String) throws -> [LedgerEntry]
    /// A customer's open lots and deficit, as its entries in ledger order left them.
    func lotBook(of account: AccountID) throws -> LotBook
    /// Every published expiry policy version.
    func expiryPolicies() throws -> ExpiryPolicies
    /// Whether any entry concerns `account`.
    func isKnown(_ account: AccountID) throws -> Bool
    /// Accounts holding lots that expire within `expiring`, in id order, at most `limit`.
    func accounts(withLotsExpiring expiring: ClosedRange<Int64>, limit: Int) throws -> [AccountID]
}

extension FactsSource {
    /// What every decision about a customer reads: its lots and its debt.
    public func accountFacts(of account: AccountID) throws -> AccountFacts {
        AccountFacts(book: try lotBook(of: account), debt: try balance(BalanceKey(LedgerAccount(account), .debt)).posted)
    }

    /// A customer's spendable points, debt and pending points at `instant`.
    public func accountState(of account: AccountID, at instant: Int64) throws -> AccountState {
        try accountFacts(of: account).state(at: instant)
    }
}

/// A customer's lots and debt: time-independent, so a decision reads them once and asks for
/// the state at its own instant.
public struct AccountFacts: Hashable, Sendable {
    public var book: LotBook
    public var debt: Points

    public init(book: LotBook, debt: Points) {
        self.book = book
        self.debt = debt
    }

    public func state(at instant: Int64) -> AccountState {
        let summary = book.summary(at: instant, expiringLimit: 0)
        return AccountState(balance: summary.spendable, debt: debt, pending: summary.pending)
    }
}
