/// Points credited to an account that owes debt repay it first (rules.md, section 4): an
/// earning, a late campaign credit or a compensation grant. The repaid points go back to the
/// store (`@clawed-back:{store}`) and the debt shrinks by as much, so a customer never holds
/// spendable points while owing.
enum DebtRepayment {
    /// The moves by which `account`, owing `debt`, repays it from `credited` new points: none
    /// when it owes nothing.
    static func moves(of account: LedgerAccount, credited: Points, debt: Points, store: NodeID) -> [Move] {
        let repaid = min(credited, debt)
        guard repaid > .zero else { return [] }
        return [Move(debit: account, credit: .clawedBack(by: store), amount: repaid),
                Move(debit: account, credit: .debtOwed, amount: repaid, asset: .debt)]
    }
}
