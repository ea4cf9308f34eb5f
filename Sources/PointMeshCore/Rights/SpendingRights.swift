/// The one decision point every debit of a customer's points passes through (docs/rules.md,
/// "Spending rights"): a redemption (rewards, bill deductions, a member's from a pool), a
/// transfer out, a deduction, and a refund's clawback. Points leave an account only within its
/// spendable balance and, under spending rights, within the rights the deciding node holds: the
/// spendable lots it holds, which no other node can spend while it does, so two cut-off nodes
/// never spend the same points.
public enum SpendingRights {
    /// What a decision about `account` reads of its rights at the deciding node: nil when the
    /// node decides without spending rights (`NodeSettings.spendingRights` off), when every
    /// node may spend every lot.
    public static func held(of account: AccountID, from source: some FactsSource, context: RequestContext) throws -> HeldRights? {
        guard context.settings.spendingRights else { return nil }
        return try source.heldRights(of: account, by: context.node, at: context.now)
    }

    /// Refuses a debit of `points` from `account` that its spendable balance (`balance`) or,
    /// under spending rights, the rights held here (`held`) do not cover. `green`: the debit
    /// takes green points only (a green-only reward), so the green part must cover it.
    /// `overdraft`: the offline allowance left (`OverdraftRoom`) and the account's overdraft
    /// outstanding (its lots' deficit), for a redemption whose holders did not answer. Returns
    /// the points the debit overdraws (0 within the rights held).
    @discardableResult
    public static func authorize(_ points: Points, from account: AccountID, balance: Points, green: Points? = nil,
                                 held: HeldRights?, overdraft: (room: OverdraftRoom, outstanding: Points)? = nil) throws(LedgerError) -> Points {
        guard balance >= points else { throw .insufficientPoints(account: account, balance: balance, requested: points) }
        if let green {
            let available = min(green, balance)
            guard available >= points else { throw .insufficientGreenPoints(account: account, green: available, requested: points) }
        }
        guard let held else { return .zero }
        let servable = servable(balance: balance, green: green, held: held)
        guard servable < points else { return .zero }
        let over = points - servable
        if let (room, outstanding) = overdraft, green == nil, outstanding + over <= room.perAccount, over <= room.nodeLeft { return over }
        throw .insufficientPointsOffline(account: account, servable: servable, requested: points)
    }

    /// What a debit decided here can take: the balance, and under rights no more than the
    /// rights held (of green points, for a green-only debit).
    public static func servable(balance: Points, green: Points? = nil, held: HeldRights?) -> Points {
        let limit = min(balance, green ?? balance)
        guard let held else { return limit }
        return max(.zero, min(limit, green == nil ? held.points : held.green))
    }
}
