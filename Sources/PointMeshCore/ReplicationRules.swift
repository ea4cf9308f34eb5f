/// A run of one origin's entries: sequences `first...last`.
public struct OriginRange: Hashable, Sendable {
    public var origin: NodeID
    public var first: Int64
    public var last: Int64

    public init(origin: NodeID, first: Int64, last: Int64) {
        self.origin = origin
        self.first = first
        self.last = last
    }

    public var count: Int64 { last - first + 1 }
}

/// How entries move between replicas and how concurrent copies of one write collapse.
public enum ReplicationRules {
    /// The entries `local` holds that `remote` lacks, per origin, in origin order.
    public static func missing(local: VersionVector, remote: VersionVector) -> [OriginRange] {
        local.sequences.keys.sorted().compactMap { origin in
            let have = local[origin], theirs = remote[origin]
            return have > theirs ? OriginRange(origin: origin, first: theirs + 1, last: have) : nil
        }
    }

    /// What a replica does with a received entry, given the highest sequence it holds of the
    /// entry's origin. Replicas hold gap-free prefixes, so only the next sequence is taken.
    public enum Admission: Equatable, Sendable {
        case alreadyHeld
        case next
        /// Earlier entries of this origin are missing; this one can't be taken yet.
        case gap
    }

    /// The first of `entries` whose origin's role, as its certificate says (`roles`), may not
    /// originate its kind: a store's node writing a campaign, say. An origin of unknown role
    /// (never met, or met by the cluster key only) passes: that is the cluster key's trust.
    public static func firstOutOfRole(_ entries: [LedgerEntry], roles: [NodeID: NodeRole]) -> LedgerEntry? {
        guard !roles.isEmpty else { return nil }
        return entries.first { entry in roles[entry.id.origin].map { !EntryKinds.mayOriginate(entry.code, as: $0) } ?? false }
    }

    public static func admission(of id: EntryID, held: Int64) -> Admission {
        if id.sequence <= held { return .alreadyHeld }
        return id.sequence == held + 1 ? .next : .gap
    }

    /// Of two entries carrying the same idempotency key (the same receipt rung up at two stores
    /// while they were cut off), whether `a` is the one that counts: the earlier by hybrid
    /// logical clock, then the smaller origin id, then the smaller sequence. A total order on
    /// immutable fields, so every node picks the same winner whatever order the copies arrived in.
    public static func precedes(_ a: LedgerEntry, _ b: LedgerEntry) -> Bool {
        (a.timestamp.wallMilliseconds, a.timestamp.logical, a.id.origin.rawValue, a.id.sequence)
            < (b.timestamp.wallMilliseconds, b.timestamp.logical, b.id.origin.rawValue, b.id.sequence)
    }
}
