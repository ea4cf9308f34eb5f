/// A reward in the catalog: what a redemption with its `reward_id` buys.
public struct Reward: Hashable, Sendable {
    /// What the reward is (contract.md names the words).
    public enum Kind: String, CaseIterable, Sendable {
        case voucher, goods, service, partner
        case billDeduction = "bill_deduction"
    }

    public var id: RequestID
    public var name: String
    /// Its cost; for a bill deduction, the points one yuan (100 fen) of discount costs.
    public var points: Points
    public var kind: Kind
    public var partner: String?
    /// Paid with green points only.
    public var greenOnly: Bool
    public var startsAt: Int64?
    public var endsAt: Int64?
    public var withdrawnAt: Int64?

    public init(id: RequestID, name: String, points: Points, kind: Kind, partner: String? = nil, greenOnly: Bool = false,
                startsAt: Int64? = nil, endsAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.points = points
        self.kind = kind
        self.partner = partner
        self.greenOnly = greenOnly
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    /// Whether it can be redeemed at `instant`.
    public func isAvailable(at instant: Int64) -> Bool {
        startsAt.map { instant >= $0 } != false && endsAt.map { instant < $0 } != false && withdrawnAt.map { instant < $0 } != false
    }

    /// A bill deduction: the points `offered` buy a discount at the reward's rate, at most `bill`
    /// fen; the points charged are what that discount costs (never more than offered).
    public func billDeduction(offered: Points, bill: Fen) -> (discount: Fen, charged: Points) {
        guard points > .zero else { return (Fen(0), .zero) }
        let yuan = min(offered.value / points.value, bill.value / 100)
        return (Fen(yuan * 100), Points(yuan * points.value))
    }
}
