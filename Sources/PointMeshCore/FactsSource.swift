/// The look-ups a kind's decision may make, answered by the SQLite store and by `MemoryLedger`
/// alike, inside the write's transaction.
public protocol FactsSource {
    /// The entry that counts for `key` (never a duplicate), if any.
    func countingEntry(for key: IdempotencyKey) throws -> LedgerEntry?
    /// The totals of one balance, summed over origins; zero for one never touched.
    func balance(_ key: BalanceKey) throws -> Balance
    /// Counting entries that declared `link` (`EntryLinks`), in no particular order.
    func linkedEntries(_ link: String) throws -> [LedgerEntry]
    /// A customer's spendable points, debt and pending points (a store may answer it in one
    /// look-up; by default, from `balance`).
    func accountState(of account: AccountID) throws -> AccountState
}

extension FactsSource {
    /// A customer's spendable points, debt and pending points.
    public func accountState(of account: AccountID) throws -> AccountState {
        AccountState(points: try balance(BalanceKey(LedgerAccount(account), .points)),
                     debt: try balance(BalanceKey(LedgerAccount(account), .debt)))
    }
}
