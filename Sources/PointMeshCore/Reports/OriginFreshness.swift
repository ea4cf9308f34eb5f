import PointMeshJSON

/// How complete a report is for one origin's entries: the newest entry this node holds from it,
/// and how far behind it may be. A store cut off since Tuesday shows here as behind, so a
/// reader knows Wednesday's figures lack it.
public struct OriginFreshness: Hashable, Sendable {
    /// How this node knows the origin now.
    public enum Contact: String, Sendable {
        /// This node itself: it holds all its own entries.
        case local
        /// A peer it exchanged gossip with lately: it held everything the peer had then.
        case alive
        /// A peer it can't reach now.
        case unreachable
        /// An origin of entries it holds that is not (or no longer) a peer: retired, or heard of
        /// only through others.
        case indirect
    }

    public var node: NodeID
    /// The newest entry held from it (ledger time), nil when none.
    public var newestEntryAt: Int64?
    public var contact: Contact
    /// When this node last held everything `node` had: now for itself, its last exchange with
    /// a peer, else the newest entry held from it.
    public var completeAt: Int64?
    /// Entries the origin was known to hold that this node doesn't yet (from the peer's last
    /// version vector), when known.
    public var missingEntries: Int64?

    public init(node: NodeID, newestEntryAt: Int64?, contact: Contact, completeAt: Int64?, missingEntries: Int64?) {
        self.node = node
        self.newestEntryAt = newestEntryAt
        self.contact = contact
        self.completeAt = completeAt
        self.missingEntries = missingEntries
    }

    /// Seconds since this node last held everything `node` had, at `now`.
    public func behindSeconds(at now: Int64) -> Int64? { completeAt.map { max(0, now - $0) / 1_000 } }

    /// Whether figures may lack some of `node`'s entries: it is out of reach, or known to hold
    /// entries this node lacks.
    public var isBehind: Bool { contact == .unreachable || (missingEntries ?? 0) > 0 }

    public func json(at now: Int64) -> JSONValue {
        .object([
            "node_id": .string(node.rawValue),
            "newest_entry_at": newestEntryAt.map { .string(RFC3339.format(milliseconds: $0)) } ?? .null,
            "contact": .string(contact.rawValue),
            "behind_seconds": behindSeconds(at: now).map(JSONValue.integer) ?? .null,
            "missing_entries": missingEntries.map(JSONValue.integer) ?? .null,
            "behind": .bool(isBehind),
        ])
    }

    /// What this node knows of a peer: whether gossip reaches it now, when it last exchanged
    /// with it (wall milliseconds), and the version vector the peer showed then.
    public struct Peer: Sendable {
        public var alive: Bool
        public var lastContact: Int64?
        public var vector: VersionVector?

        public init(alive: Bool, lastContact: Int64?, vector: VersionVector?) {
            self.alive = alive
            self.lastContact = lastContact
            self.vector = vector
        }
    }

    /// One row per origin this node holds entries from, is, or has as a peer, by node id.
    /// `newest`: the newest entry held from each origin; `held`: this node's version vector.
    public static func all(local: NodeID, now: Int64, newest: [NodeID: Int64], held: VersionVector, peers: [NodeID: Peer]) -> [OriginFreshness] {
        let origins = Set(newest.keys).union(peers.keys).union([local])
        return origins.sorted().map { origin in
            let missing = peers.values.compactMap { $0.vector.map { max(0, $0[origin] - held[origin]) } }.max()
            if origin == local {
                return OriginFreshness(node: origin, newestEntryAt: newest[origin], contact: .local, completeAt: now, missingEntries: 0)
            }
            guard let peer = peers[origin] else {
                return OriginFreshness(node: origin, newestEntryAt: newest[origin], contact: .indirect, completeAt: newest[origin], missingEntries: missing)
            }
            return OriginFreshness(node: origin, newestEntryAt: newest[origin], contact: peer.alive ? .alive : .unreachable,
                                   completeAt: peer.lastContact ?? newest[origin], missingEntries: missing)
        }
    }
}
