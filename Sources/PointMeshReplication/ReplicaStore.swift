import PointMeshCore

/// What the gossip protocol needs of a node's ledger. The node implements it over SQLite; the
/// simulation over memory (`MemoryLedger`). Applying must be atomic per batch and durable
/// before it returns.
public protocol ReplicaStore {
    /// The gap-free prefix held of each origin.
    func versionVector() throws -> VersionVector
    /// The digest of the entries held, covering their bytes (`LedgerDigest`).
    func ledgerDigest() throws -> String
    /// Up to `limit` entries of `origin` with sequence greater than `after`, in sequence order,
    /// with their seals.
    func sealedEntries(of origin: NodeID, after: Int64, limit: Int) throws -> SealedEntries
    /// Applies received entries (those already held are skipped, those after a gap are not
    /// taken, seals are checked under the node's `SealPolicy` and kept); `sender` is the peer
    /// that sent them, as the handshake proved it.
    mutating func apply(_ batch: SealedEntries, from sender: NodeID?) throws -> AppliedEntries
    /// Writes, at `instant`, a rights grant to `receiver` for each account wanted whose lots
    /// this node holds; returns the entries written (`GossipDirective.grantRights`).
    mutating func grantRights(_ wanted: [RightsWanted], to receiver: NodeID, at instant: Int64) throws -> [LedgerEntry]
    /// Whether a holdings report gossiped in `origin`'s name may stand for it, under the
    /// node's `SealPolicy` and the certificates it holds (`ReportSealCheck`).
    func check(_ report: HoldingsReport, of origin: NodeID) throws -> ReportSealCheck.Verdict
}

extension GossipDirective {
    /// Carries out a directive that reads or changes `store` or `membership`, for a shell that
    /// holds both as plain values (the simulation, tests); returns the event that answers it.
    /// `send` and `finished` are the caller's: nil.
    /// `ledgerTime`: the ledger's clock, for what it writes (a simulated node's differs from
    /// its network time); `now` by default.
    public func carryOut(on store: inout some ReplicaStore, membership: inout Membership, now: Int64, ledgerTime: Int64? = nil)
        throws(GossipProtocolError) -> GossipEvent? {
        do {
            switch self {
            case .send, .finished:
                return nil
            case .readLocalState(let withLedgerDigest, let peerDigest):
                return .localState(membership.localState(ledgerDigest: withLedgerDigest ? try store.ledgerDigest() : nil, vector: try store.versionVector(),
                                                         membersMissingAt: peerDigest))
            case .readEntries(let origin, let after, let limit):
                return .entriesRead(try store.sealedEntries(of: origin, after: after, limit: limit))
            case .apply(let batch, let sender):
                return .applied(try store.apply(batch, from: sender))
            case .mergeMembers(let records, let complete):
                try membership.merge(records, now: now, complete: complete) { origin, report in try store.check(report, of: origin) == .admitted }
                return nil
            case .refuseOutOfRole, .refuseSeal:
                return nil
            case .grantRights(let wanted, let receiver):
                return .granted(try store.grantRights(wanted, to: receiver, at: ledgerTime ?? now))
            }
        } catch {
            throw .storage("\(error)")
        }
    }
}

extension GossipSession {
    /// Feeds `event` to the session and carries out every directive it leads to on `store` and
    /// `membership` (a shell holding both as plain values: the simulation, tests), feeding back
    /// each answer; returns the messages to send, in order.
    public mutating func run(_ event: GossipEvent, store: inout some ReplicaStore, membership: inout Membership, now: Int64, ledgerTime: Int64? = nil)
        throws(GossipProtocolError) -> [GossipMessage] {
        var events = [event], outgoing: [GossipMessage] = []
        while !events.isEmpty {
            for directive in try handle(events.removeFirst()) {
                if case .send(let message) = directive { outgoing.append(message) }
                if let answer = try directive.carryOut(on: &store, membership: &membership, now: now, ledgerTime: ledgerTime) { events.append(answer) }
            }
        }
        return outgoing
    }
}

extension MemoryLedger: ReplicaStore {
    public func sealedEntries(of origin: NodeID, after: Int64, limit: Int) -> SealedEntries {
        SealedEntries.gathering(entries(of: origin, after: after, limit: limit), seal: { seals[$0] }, certificate: { certificates[$0] })
    }

    public mutating func grantRights(_ wanted: [RightsWanted], to receiver: NodeID, at instant: Int64) throws -> [LedgerEntry] {
        try RightsWanted.grants(wanted, to: receiver) { try write($0, now: instant) }
    }

    public func check(_ report: HoldingsReport, of origin: NodeID) -> ReportSealCheck.Verdict {
        ReportSealCheck.check(report, of: origin, policy: sealPolicy, certificate: { certificates[$0] },
                              certified: { sealPolicy.certifiedOrigins(among: certificates.values).contains($0) })
    }
}
