/// Who is asking, of which node, and when: handed to every read and write so the rules can
/// check permissions, freezes and time windows in the core rather than at the edge.
public struct RequestContext: Hashable, Sendable {
    /// The caller's identity: the token's name once access control exists; empty until then.
    public var caller: String
    /// The node deciding the request (the origin of any entry it writes).
    public var node: NodeID
    /// Physical time in milliseconds since the epoch, as the node's clock read it.
    public var now: Int64
    /// The id the edge gave the request, for logs and for the client to quote.
    public var requestID: String
    /// The deciding node's settings.
    public var settings: NodeSettings
    /// Set once the holders of the accounts' spending rights were asked for them and waited
    /// for (or could not be reached): decide with the rights held now. Nil: not asked yet, so a
    /// debit short of rights here is refused for the edge to ask (`insufficientPointsOffline`).
    public var holdersAsked: HoldersAsked?

    public init(caller: String = "", node: NodeID, now: Int64, requestID: String = "", settings: NodeSettings = NodeSettings(),
                holdersAsked: HoldersAsked? = nil) {
        self.caller = caller
        self.node = node
        self.now = now
        self.requestID = requestID
        self.settings = settings
        self.holdersAsked = holdersAsked
    }
}

/// What a node decides with once it asked the holders of an account's rights and waited: a
/// refund's clawback short of rights is then debt, and a redemption may overspend within the
/// offline allowance left.
public struct HoldersAsked: Hashable, Sendable {
    /// What this node may still overspend without the holders: nil when it may not (no
    /// allowance, or it has not heard from the cluster within the allowance's limit).
    public var overdraftRoom: OverdraftRoom?

    public init(overdraftRoom: OverdraftRoom? = nil) { self.overdraftRoom = overdraftRoom }
}

/// The offline allowance a node has left, as its edge reads it when the holders of an account's
/// rights did not answer (docs/rules.md, "Offline allowance"): the card terminal's floor limit.
public struct OverdraftRoom: Hashable, Sendable {
    /// The most any one account may be overdrawn (`--offline-allowance`).
    public var perAccount: Points
    /// What the node's cap on overdrafts outstanding across accounts leaves
    /// (`--offline-allowance-cap` less what is outstanding).
    public var nodeLeft: Points

    public init(perAccount: Points, nodeLeft: Points) {
        self.perAccount = perAccount
        self.nodeLeft = nodeLeft
    }
}

/// A node's settings that shape what it decides. Each is recorded on the entries it shapes
/// (a lot's maturity, a transfer's cooling-off period), so every node judges those entries
/// alike whatever its own settings. The defaults here turn both off; `pointmesh serve` has its
/// own defaults (`NodeConfiguration`).
public struct NodeSettings: Hashable, Sendable {
    /// Milliseconds the points a purchase earns stay pending (`--return-window-days`).
    public var returnWindow: Int64
    /// Milliseconds both parties to a transfer must have been members of its family
    /// (`--transfer-cooling-off-days`, `FamilyCondition`).
    public var transferCoolingOff: Int64
    /// Debits are decided under spending rights (`SpendingRights`): within the rights this node
    /// holds, and recorded so (`LotEvents.heldRightsTag`) so they take only its lots everywhere.
    public var spendingRights: Bool

    public init(returnWindow: Int64 = 0, transferCoolingOff: Int64 = 0, spendingRights: Bool = false) {
        self.returnWindow = returnWindow
        self.transferCoolingOff = transferCoolingOff
        self.spendingRights = spendingRights
    }
}
