/// Points credited to an account that owes debt repay it first (rules.md, section 4): an
/// earning, a late campaign credit, a compensation grant or a transfer in. The repaid points go back to the
/// store (`@clawed-back:{store}`) and the debt shrinks by as much, so a customer never holds
/// spendable points while owing.
enum DebtRepayment {
    /// The moves by which `account` repays `repaid` points of its debt (none for zero): what it
    /// owes, at most what was credited.
    static func moves(of account: LedgerAccount, repaying repaid: Points, store: NodeID) -> [Move] {
        guard repaid > .zero else { return [] }
        return [Move(debit: account, credit: .clawedBack(by: store), amount: repaid),
                Move(debit: account, credit: .debtOwed, amount: repaid, asset: .debt)]
    }
}
