import PointMeshCore

/// Push–pull anti-entropy of entries and members, one exchange of a gossip session, as a pure
/// state machine: it takes events and returns directives, and never touches storage itself.
///
///     initiator → summary(ledger digest, membership digest)
///     responder → in_sync                        (equal digests: done, O(1) bytes)
///              or state(vector, members)
///     initiator → state(vector, members), entries…, end_of_entries   (what the responder lacks)
///     responder → entries…, end_of_entries                           (what the initiator lacks)
///
/// Phases never overlap, so neither side ever writes a bulk stream while the other does too.
/// The initiator receives the last message, so the next exchange of the session starts on its
/// side with nothing of this one in flight.
public struct ReplicationExchange: Sendable {
    private indirect enum Phase: Sendable {
        case idle, opening, awaitingReply, awaitingSummary, awaitingState
        /// Waiting for the local state to compare the peer's digests with.
        case comparing(ledgerDigest: String, membershipDigest: String)
        /// Waiting for the local state after the peer's `state`: the initiator answers with its
        /// own, the responder notes what it lacks.
        case planning(remote: VersionVector)
        /// Waiting for the local state after the initiator's stream, to send what it lacks.
        case replying
        case sending(plan: [OriginRange], then: Phase)
        case reading(plan: [OriginRange], then: Phase)
        case receivingEntries(reply: Bool)
        case finished
    }

    public let role: GossipSession.Role
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
    /// The local vector of the last local state read.
    private var localVector: VersionVector?

    /// Origins' certified roles (`GossipSession.originRoles`).
    public let originRoles: [NodeID: NodeRole]
    /// Received entries refused for their origin's role.
    public private(set) var refusedOutOfRole = 0

    public init(role: GossipSession.Role, batchSize: Int, originRoles: [NodeID: NodeRole] = [:]) {
        self.role = role
        self.batchSize = batchSize
        self.originRoles = originRoles
        phase = role == .initiator ? .idle : .awaitingSummary
    }

    public var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    public mutating func handle(_ event: GossipEvent) throws(GossipProtocolError) -> [GossipDirective] {
        switch (phase, event) {
        case (.idle, .start):
            phase = .opening
            return [.readLocalState(withLedgerDigest: true)]

        case (.opening, .localState(let local)):
            guard let ledgerDigest = local.ledgerDigest else { throw .unexpected("the local state without the digest asked for") }
            localVector = local.vector
            phase = .awaitingReply
            return [.send(.summary(ledgerDigest: ledgerDigest, membershipDigest: local.membershipDigest))]

        case (.awaitingReply, .received(.inSync)):
            // Equal digests: the peer holds exactly what this node held when it opened.
            peerVector = localVector
            return finish()

        case (.awaitingReply, .received(.state(let remote, let members))), (.awaitingState, .received(.state(let remote, let members))):
            phase = .planning(remote: remote)
            return [.mergeMembers(members), .readLocalState(withLedgerDigest: false)]

        case (.awaitingSummary, .received(.summary(let ledgerDigest, let membershipDigest))):
            phase = .comparing(ledgerDigest: ledgerDigest, membershipDigest: membershipDigest)
            return [.readLocalState(withLedgerDigest: true)]

        case (.comparing(let ledgerDigest, let membershipDigest), .localState(let local)):
            if ledgerDigest == local.ledgerDigest && membershipDigest == local.membershipDigest {
                peerVector = local.vector
                return [.send(.inSync)] + finish()
            }
            phase = .awaitingState
            return [.send(.state(vector: local.vector, members: local.members))]

        case (.planning(let remote), .localState(let local)):
            peerVector = remote
            entriesKnown = ReplicationRules.missing(local: remote, remote: local.vector).reduce(0) { $0 + $1.count }
            guard role == .initiator else {
                phase = .receivingEntries(reply: true)
                return []
            }
            phase = .sending(plan: ReplicationRules.missing(local: local.vector, remote: remote), then: .receivingEntries(reply: false))
            return [.send(.state(vector: local.vector, members: local.members))] + nextBatch()

        case (.receivingEntries, .received(.entries(let batch))):
            // An entry out of its origin's role is refused with that origin's later entries (they
            // could not be taken past it anyway); the other origins' go on, so a node that took
            // it before it knew the origin's role does not stall the rest of replication.
            if let forged = ReplicationRules.firstOutOfRole(batch, roles: originRoles), let role = originRoles[forged.id.origin] {
                refusedOutOfRole += 1
                let kept = batch.filter { $0.id.origin != forged.id.origin || $0.id.sequence < forged.id.sequence }
                return [.refuseOutOfRole(entry: forged.id, code: forged.code, role: role), .apply(kept)]
            }
            return [.apply(batch)]

        case (.receivingEntries, .applied(let stored)):
            entriesReceived += stored
            return []

        case (.receivingEntries(let reply), .received(.endOfEntries)):
            guard reply else { return finish() }
            phase = .replying
            return [.readLocalState(withLedgerDigest: false)]

        case (.replying, .localState(let local)):
            phase = .sending(plan: ReplicationRules.missing(local: local.vector, remote: peerVector ?? VersionVector()), then: .finished)
            return nextBatch()

        case (.reading(var plan, let then), .entriesRead(var batch)):
            guard var range = plan.first else { throw .unexpected("entries read with nothing asked") }
            batch = Self.fittingOneFrame(batch)
            if batch.isEmpty {
                plan.removeFirst()
            } else {
                range.first += Int64(batch.count)
                if range.first > range.last { plan.removeFirst() } else { plan[0] = range }
            }
            phase = .sending(plan: plan, then: then)
            entriesSent += batch.count
            return (batch.isEmpty ? [] : [.send(.entries(batch))]) + nextBatch()

        default:
            throw .outOfTurn(event, while: phaseName)
        }
    }

    /// In `sending`: asks for the next batch of the plan, or ends the stream.
    private mutating func nextBatch() -> [GossipDirective] {
        guard case .sending(let plan, let then) = phase else { return [] }
        guard let range = plan.first else {
            phase = then
            return [.send(.endOfEntries)] + (isFinished ? [.finished] : [])
        }
        phase = .reading(plan: plan, then: then)
        return [.readEntries(origin: range.origin, after: range.first - 1, limit: min(batchSize, Int(range.count)))]
    }

    private mutating func finish() -> [GossipDirective] {
        phase = .finished
        return [.finished]
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

    private var phaseName: String {
        switch phase {
        case .idle: "idle"
        case .opening, .comparing, .planning, .replying: "reading local state"
        case .awaitingSummary: "awaiting summary"
        case .awaitingReply: "awaiting reply"
        case .awaitingState: "awaiting state"
        case .sending, .reading: "sending"
        case .receivingEntries: "receiving entries"
        case .finished: "finished"
        }
    }
}
