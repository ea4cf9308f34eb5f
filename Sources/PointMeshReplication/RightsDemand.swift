import PointMeshCore

/// What a node has asked which holders for, as a plain value (no clock, no sockets): the
/// accounts it wants rights to and the months it wants rights to issue in, per holder, and
/// since when. The node's gossip carries a
/// holder's wants in the next session with it (opened at once when a customer waits); a
/// session settles what it carried, granted or not (or not asked: a peer without the exchange).
///
/// Each time a want is carried it gets a new request id, so a holder never answers it with a
/// grant it wrote before (a reply lost, then the same id sent again, would replay a grant whose
/// lots may have moved on since). A repeated grant is harmless: it hands what the holder holds
/// then, and a holder holding nothing writes none.
public struct RightsDemand: Sendable {
    public let node: NodeID
    /// Unique to this run of the node (a restart starts the counter again).
    private let prefix: String
    private var byHolder: [NodeID: [RightsSubject: Int64]] = [:]
    private var issued = 0

    /// A want not settled after this long is dropped: the account is asked for afresh the next
    /// time it is used.
    public static let lifetime: Int64 = 10_000

    public init(node: NodeID, prefix: String) {
        self.node = node
        self.prefix = prefix
    }

    /// Wants `account`'s rights from each of `holders` (the node itself left out); returns the
    /// holders asked now, those with no request for it outstanding.
    public mutating func want(_ account: AccountID, from holders: [NodeID], now: Int64) -> [NodeID] {
        want(.account(account), from: holders, now: now)
    }

    /// Wants `subject` from each of `holders`; returns the holders asked now. Rights to issue
    /// asked of a holder again replace what was asked of it for the month before.
    public mutating func want(_ subject: RightsSubject, from holders: [NodeID], now: Int64) -> [NodeID] {
        var asked: [NodeID] = []
        for holder in holders where holder != node && byHolder[holder]?[subject] == nil {
            if case .issuing(let month, _) = subject {
                byHolder[holder] = byHolder[holder]?.filter { if case .issuing(month, _) = $0.key { false } else { true } }
            }
            byHolder[holder, default: [:]][subject] = now
            asked.append(holder)
        }
        return asked
    }

    /// Whether anything is wanted of `holder`.
    public func wants(from holder: NodeID) -> Bool { byHolder[holder] != nil }

    /// What to ask `holder` for in a session with it, at most a request's worth, each under a
    /// request id of its own.
    public mutating func wanted(from holder: NodeID) -> [RightsWanted] {
        (byHolder[holder] ?? [:]).keys.sorted().prefix(RightsWanted.maximumPerRequest).map { subject in
            issued += 1
            return RightsWanted(subject, request: RequestID(unchecked: "\(prefix)-\(issued)"))
        }
    }

    /// Holders with requests outstanding.
    public var holders: [NodeID] { byHolder.keys.sorted() }

    /// `holder` answered `asked` (granting or not).
    public mutating func settle(_ asked: [RightsWanted], by holder: NodeID) {
        for item in asked { byHolder[holder]?[item.subject] = nil }
        if byHolder[holder]?.isEmpty == true { byHolder[holder] = nil }
    }

    /// Drops wants older than `lifetime`.
    public mutating func expire(now: Int64) {
        for holder in byHolder.keys {
            byHolder[holder] = byHolder[holder]?.filter { now - $0.value < Self.lifetime }
            if byHolder[holder]?.isEmpty == true { byHolder[holder] = nil }
        }
    }
}
