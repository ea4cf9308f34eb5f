import PointMeshCore

/// A conversation two nodes can hold within a gossip session, by its name on the wire. With
/// protocol version 3 each side's `introduce` names the exchanges it speaks, and the session
/// runs those both speak, in the initiator's order; an exchange only one side speaks is skipped
/// and the rest of the session goes on. With a version-2 peer (releases 0.3 to 0.6, whose
/// `identify` names none) the session is replication alone, as those releases expect.
public enum GossipExchangeName: String, CaseIterable, Sendable {
    /// Push–pull anti-entropy of entries and members (`ReplicationExchange`).
    case replication
    /// A round trip of a nonce, for tests of negotiation only (`ProbeExchange`); a node speaks
    /// it only when told to (`POINTMESH_TEST_EXCHANGES=probe`), never by default.
    case probe
    /// Asking holders for an account's spending rights, and their grants (`RightsExchange`).
    case spendingRights = "spending-rights"

    /// What a node speaks unless told otherwise: rights first, so what a node waits for comes
    /// before the catch-up of entries.
    public static let standard: [GossipExchangeName] = [.spendingRights, .replication]

    /// Whether an initiator with nothing to ask in this exchange leaves it out, from protocol
    /// version 6 (`ProtocolVersions.compact`): the responder, meeting the next exchange's opening
    /// message instead, moves on to that one. The spending-rights exchange may be: most
    /// sessions have no account to ask for, and an empty request and answer in every session
    /// were a third of a settled chain's gossip.
    public var mayBeLeftOut: Bool { self == .spendingRights }

    /// Whether `message` is the first an initiator sends in this exchange.
    public func isOpened(by message: GossipMessage) -> Bool {
        switch (self, message) {
        case (.replication, .summary), (.replication, .briefSummary), (.probe, .probe), (.spendingRights, .rightsRequest): true
        default: false
        }
    }

    /// The exchanges a session runs, in the initiator's order, and the names either side
    /// offered that the other does not speak (a newer release's names among them).
    public static func agreement(initiator: [String], responder: [String]) -> (agreed: [GossipExchangeName], skipped: [String]) {
        let agreed = initiator.filter(responder.contains).compactMap(GossipExchangeName.init(rawValue:))
        var skipped: [String] = []
        for name in initiator + responder where !agreed.contains(where: { $0.rawValue == name }) && !skipped.contains(name) {
            skipped.append(name)
        }
        return (agreed, skipped)
    }
}

/// What happened that a session must hear of; the shell (TCP connection, simulated network,
/// test) turns each directive it carried out into the matching event.
public enum GossipEvent: Sendable {
    /// The initiator opens the session.
    case start
    case received(GossipMessage)
    /// The answer to `readLocalState`.
    case localState(LocalReplicaState)
    /// The answer to `readEntries`.
    case entriesRead(SealedEntries)
    /// The answer to `apply`: what of the batch was newly stored, waits for a seal, or was refused.
    case applied(AppliedEntries)
    /// The peer took longer than the shell waits for a message.
    case timerFired
    /// The answer to `grantRights`: the grant entries written.
    case granted([LedgerEntry])
}

/// What a session asks its shell to do, in order.
public enum GossipDirective: Equatable, Sendable {
    case send(GossipMessage)
    /// Read this node's version vector and membership, and its ledger digest when asked (it
    /// reads every origin's chain: only what a comparison of digests needs); answer `localState`.
    /// With `membersMissingAt`, also the members a peer with that membership digest lacks
    /// (`Membership.records(missingAt:)`).
    case readLocalState(withLedgerDigest: Bool, membersMissingAt: String? = nil)
    /// Read up to `limit` entries of `origin` after sequence `after`; answer `entriesRead`.
    case readEntries(origin: NodeID, after: Int64, limit: Int)
    /// Store a received batch (held entries skipped, those after a gap not taken, seals checked
    /// under the node's policy, `SealCheck`), sent by `from` (the peer, as the handshake proved
    /// it); answer `applied`.
    case apply(SealedEntries, from: NodeID?)
    /// Merge the peer's member records into this node's membership; `complete`: they are every
    /// member the peer knows (`Membership.merge(_:now:complete:)`).
    case mergeMembers([MemberRecord], complete: Bool = false)
    /// Write a rights grant to `receiver` for each account wanted whose lots this node holds
    /// (`RightsWanted.grant`), skipping the others; answer `granted`.
    case grantRights([RightsWanted], to: NodeID)
    /// A received entry its origin may not originate (`ReplicationRules.firstOutOfRole`) was
    /// refused, with that origin's later entries in the batch: log and count it. No answer.
    case refuseOutOfRole(entry: EntryID, code: EntryCode, role: NodeRole)
    /// Received entries whose seal failed (`SealCheck`) were refused: log and count it. No answer.
    case refuseSeal(SealRefusal)
    /// The session is over: every exchange both sides speak ran to its end.
    case finished
}

/// This node's side of replication at one moment, as the shell reads it.
public struct LocalReplicaState: Sendable, Equatable {
    /// Nil unless `readLocalState` asked for it.
    public var ledgerDigest: String?
    public var vector: VersionVector
    public var membershipDigest: String
    /// The membership digest without what members hold (`Membership.legacyDigest`): what a
    /// peer on protocol version 6 or older computes.
    public var legacyMembershipDigest: String
    public var members: [MemberRecord]
    /// The members the peer `readLocalState` named lacks; nil when it named none or this node
    /// can't tell.
    public var membersMissing: [MemberRecord]?

    public init(ledgerDigest: String?, vector: VersionVector, membershipDigest: String, legacyMembershipDigest: String? = nil,
                members: [MemberRecord], membersMissing: [MemberRecord]? = nil) {
        self.ledgerDigest = ledgerDigest
        self.vector = vector
        self.membershipDigest = membershipDigest
        self.legacyMembershipDigest = legacyMembershipDigest ?? membershipDigest
        self.members = members
        self.membersMissing = membersMissing
    }
}
