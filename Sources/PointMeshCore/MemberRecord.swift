/// A node as membership gossip describes it.
public struct MemberRecord: Hashable, Sendable {
    public var id: NodeID
    /// The node's gossip address, `host:port`.
    public var address: String
    public var retired: Bool
    /// What the node last said it holds; nil until it says (or from a peer speaking protocol
    /// version 6 or older, which doesn't carry it).
    public var holdings: HoldingsReport?

    public init(id: NodeID, address: String, retired: Bool = false, holdings: HoldingsReport? = nil) {
        self.id = id
        self.address = address
        self.retired = retired
        self.holdings = holdings
    }
}

/// What a node says it holds, gossiped with its member record, from which every node computes
/// the chain's stable horizon (`Membership.stableHorizon`): the instant before which every live
/// node holds every entry, so that nothing can arrive later to be ordered before it.
///
/// Only the node itself writes its report, each one later than the last (`at` grows), so a
/// record with a later report replaces one with an earlier: a register per node.
public struct HoldingsReport: Hashable, Sendable {
    /// The node's hybrid clock when it reported: every entry it writes afterwards is stamped
    /// after this, so its entries stamped before this instant (wall ms) are the first
    /// `written`. Each report's is later than the last's, even with the wall clock stepped back.
    public var at: HLCTimestamp
    /// The last sequence the node had written by `at`.
    public var written: Int64
    /// The node then held every entry stamped before this (wall ms) of every member in
    /// `considered`.
    public var holdsAllBefore: Int64
    /// The members it considered (`Membership.memberSetHash`): a horizon is computed only from
    /// reports over the same members, so a node that didn't know of a new member yet (and may
    /// lack its first entries) never vouches for them.
    public var considered: UInt64
    /// The node's signature over the report (`sealMessage`), in a chain whose nodes hold
    /// certificates: a member relaying a report in another's name can't forge or alter it
    /// (`ReportSealCheck`). Nil on a node without one (a chain on the cluster key).
    public var seal: EntrySeal?

    public init(at: HLCTimestamp, written: Int64, holdsAllBefore: Int64, considered: UInt64, seal: EntrySeal? = nil) {
        self.at = at
        self.written = written
        self.holdsAllBefore = holdsAllBefore
        self.considered = considered
        self.seal = seal
    }
}
