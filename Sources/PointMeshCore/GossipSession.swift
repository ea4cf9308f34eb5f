/// Why a gossip session was abandoned. The connection is closed; nothing partial was applied
/// beyond whole batches already stored.
public enum GossipProtocolError: Error, Equatable, Sendable {
    case unexpected(String)
    case storage(String)
}

/// One push–pull exchange between two nodes, as a pure state machine over messages. The
/// driver (a TCP connection, or the simulated network) delivers messages to `receive` and
/// sends what it returns, then drains `nextOutgoing` until it returns nil.
///
///     initiator → summary(ledger digest, membership digest)
///     responder → in_sync                        (equal digests: done, O(1) bytes)
///              or state(vector, members)
///     initiator → state(vector, members), entries…, end_of_entries   (what the responder lacks)
///     responder → entries…, end_of_entries                           (what the initiator lacks)
///
/// Phases never overlap, so neither side ever writes a bulk stream while the other does too.
public struct GossipSession {
    public enum Role: Sendable { case initiator, responder }

    private indirect enum Phase {
        case awaitingSummary, awaitingReply, awaitingState
        case sending(plan: [OriginRange], then: Phase)
        case receivingEntries(reply: Bool)
        case finished
    }

    public let role: Role
    public let batchSize: Int
    private var phase: Phase
    /// The peer's vector, once it sent one.
    public private(set) var peerVector: VersionVector?
    /// Entries newly stored from the peer.
    public private(set) var entriesReceived = 0
    /// Entries sent to the peer.
    public private(set) var entriesSent = 0
    /// Entries the peer said it held that this node did not, when it said so.
    public private(set) var entriesKnown: Int64 = 0

    public init(role: Role, batchSize: Int = 500) {
        self.role = role
        self.batchSize = batchSize
        phase = role == .initiator ? .awaitingReply : .awaitingSummary
    }

    public var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    /// The initiator's opening message.
    public static func opening(store: some ReplicaStore, membership: Membership) throws(GossipProtocolError) -> GossipMessage {
        .summary(ledgerDigest: try digest(store), membershipDigest: membership.digest)
    }

    public mutating func receive(
        _ message: GossipMessage, store: inout some ReplicaStore, membership: inout Membership, now: Int64
    ) throws(GossipProtocolError) -> [GossipMessage] {
        switch (phase, message) {
        case (.awaitingSummary, .summary(let ledgerDigest, let membershipDigest)):
            let local = try Self.vector(store)
            if ledgerDigest == (try Self.digest(store)) && membershipDigest == membership.digest {
                peerVector = local
                phase = .finished
                return [.inSync]
            }
            phase = .awaitingState
            return [.state(vector: try Self.vector(store), members: membership.records)]

        case (.awaitingReply, .inSync):
            // Equal digests: the peer holds exactly what this node holds.
            peerVector = try Self.vector(store)
            phase = .finished
            return []

        case (.awaitingReply, .state(let remote, let members)):
            membership.merge(members, now: now)
            let local = try Self.vector(store)
            notePeer(remote, local: local)
            phase = .sending(plan: ReplicationRules.missing(local: local, remote: remote), then: .receivingEntries(reply: false))
            return [.state(vector: local, members: membership.records)]

        case (.awaitingState, .state(let remote, let members)):
            membership.merge(members, now: now)
            notePeer(remote, local: try Self.vector(store))
            phase = .receivingEntries(reply: true)
            return []

        case (.receivingEntries, .entries(let batch)):
            do {
                entriesReceived += try store.apply(batch)
            } catch {
                throw .storage("\(error)")
            }
            return []

        case (.receivingEntries(let reply), .endOfEntries):
            if reply, let peerVector {
                phase = .sending(plan: ReplicationRules.missing(local: try Self.vector(store), remote: peerVector), then: .finished)
            } else {
                phase = .finished
            }
            return []

        default:
            throw .unexpected("\(message.name) while \(phaseName)")
        }
    }

    /// The next message to stream: a batch of entries, then `end_of_entries`; nil when there
    /// is nothing to send now.
    public mutating func nextOutgoing(store: some ReplicaStore) throws(GossipProtocolError) -> GossipMessage? {
        guard case .sending(var plan, let then) = phase else { return nil }
        guard var range = plan.first else {
            phase = then
            return .endOfEntries
        }
        var batch: [LedgerEntry]
        do {
            batch = try store.entries(of: range.origin, after: range.first - 1, limit: min(batchSize, Int(range.count)))
        } catch {
            throw .storage("\(error)")
        }
        batch = Self.fittingOneFrame(batch)
        if batch.isEmpty {
            plan.removeFirst()
        } else {
            range.first += Int64(batch.count)
            if range.first > range.last { plan.removeFirst() } else { plan[0] = range }
        }
        phase = .sending(plan: plan, then: then)
        entriesSent += batch.count
        return batch.isEmpty ? try nextOutgoing(store: store) : .entries(batch)
    }

    /// Bytes of entries one `entries` frame carries at most: well inside the 8 MiB frame limit,
    /// so a run of large receipts (1,000 items with long ids is ~270 KB each) never makes a
    /// frame the peer must refuse, which would stall that origin for good.
    public static let maximumBatchBytes = 4 << 20

    /// The longest prefix of `batch` within `maximumBatchBytes` (at least one entry), by an
    /// upper bound on each entry's encoded size that needs no encoding.
    static func fittingOneFrame(_ batch: [LedgerEntry]) -> [LedgerEntry] {
        var total = 0
        for (index, entry) in batch.enumerated() {
            var size = 320 + entry.details.bytes.count + entry.trailing.count
            for move in entry.moves { size += 64 + move.debit.name.utf8.count + move.credit.name.utf8.count }
            total += size
            if total > maximumBatchBytes { return Array(batch.prefix(max(1, index))) }
        }
        return batch
    }

    private mutating func notePeer(_ remote: VersionVector, local: VersionVector) {
        peerVector = remote
        entriesKnown = ReplicationRules.missing(local: remote, remote: local).reduce(0) { $0 + $1.count }
    }

    private var phaseName: String {
        switch phase {
        case .awaitingSummary: "awaiting summary"
        case .awaitingReply: "awaiting reply"
        case .awaitingState: "awaiting state"
        case .sending: "sending"
        case .receivingEntries: "receiving entries"
        case .finished: "finished"
        }
    }

    private static func digest(_ store: some ReplicaStore) throws(GossipProtocolError) -> String {
        do {
            return try store.ledgerDigest()
        } catch {
            throw .storage("\(error)")
        }
    }

    private static func vector(_ store: some ReplicaStore) throws(GossipProtocolError) -> VersionVector {
        do {
            return try store.versionVector()
        } catch {
            throw .storage("\(error)")
        }
    }
}
