import PointMeshCore
import PointMeshCrypto

/// Push–pull anti-entropy of entries and members, one exchange of a gossip session, as a pure
/// state machine: it takes events and returns directives, and never touches storage itself.
///
///     initiator → brief_summary(one digest of ledger and members)
///     responder → in_sync                        (equal digests: done, O(1) bytes)
///              or vector(vector, membership digest)
///     initiator → vector(vector, membership digest), members?, entries…, end_of_entries
///                                                (what the responder lacks)
///     responder → members?, entries…, end_of_entries                 (what the initiator lacks)
///
/// Members go only when the membership digests differ, and then as the changes the other side
/// lacks when the sender can tell (`Membership.records(missingAt:)`: it once had the other's
/// digest, or merged that complete list). When the initiator can't tell, it sends none; the
/// responder, which answers after merging what the initiator sent, sends its complete list when
/// it can't tell, and the initiator remembers how its own differs from it. So a change spreads
/// as deltas of a few records either way, and a complete list goes only where neither side can
/// tell (changes on both sides, a restart, a peer behind the log).
/// Before version 6 the initiator opens with `summary` (both digests), and each side's `state`
/// carries the vector and every member; the responder answers in the form it was opened with.
///
/// Phases never overlap, so neither side ever writes a bulk stream while the other does too.
/// The initiator receives the last message, so the next exchange of the session starts on its
/// side with nothing of this one in flight.
public struct ReplicationExchange: Sendable {
    private indirect enum Phase: Sendable {
        case idle, opening, awaitingReply, awaitingSummary, awaitingState
        /// Waiting for the local state to compare the peer's digests with (`summary`).
        case comparing(ledgerDigest: String, membershipDigest: String)
        /// Waiting for the local state to compare the peer's `brief_summary` with.
        case comparingBrief(digest: [UInt8])
        /// Waiting for the local state after the peer's `state`: the initiator answers with its
        /// own, the responder notes what it lacks.
        /// `compact`: the peer sent `vector` (version 6), so members go apart, only those it lacks.
        case planning(remote: VersionVector, compact: Bool)
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

    /// The peer, as the handshake proved it (`ReplicaStore.apply`'s sender).
    public let peer: NodeID?
    /// The protocol version of the session: from 5 entries go out with their seals
    /// (`sealed_entries`), from 6 the initiator opens with `brief_summary`.
    public let version: UInt8
    public var sendsSeals: Bool { version >= ProtocolVersions.sealing }
    /// The peer's membership digest, once its `vector` said it: the responder's reply sends
    /// the members it lacks.
    private var peerMembershipDigest: String?
    /// Received entries that wait for a seal, offered again with the next batch: a peer's batch
    /// can end between an origin's seals.
    private var awaitingSeal = SealedEntries()
    /// Received entries refused for a seal that failed.
    public private(set) var refusedSeals = 0

    /// Most received entries kept waiting for a seal. An origin seals at least every
    /// `EntrySeal.interval` entries, so what an honest peer sends never needs more; past it the
    /// entries are dropped (they come again, from a peer holding their seal), not kept in memory.
    public static let maximumAwaitingSeal = 4 * Int(EntrySeal.interval)

    public init(role: GossipSession.Role, batchSize: Int, originRoles: [NodeID: NodeRole] = [:], peer: NodeID? = nil,
                version: UInt8 = ProtocolVersions.supported.highest) {
        self.role = role
        self.batchSize = batchSize
        self.originRoles = originRoles
        self.peer = peer
        self.version = version
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
            guard version >= ProtocolVersions.compact else {
                return [.send(.summary(ledgerDigest: ledgerDigest, membershipDigest: local.legacyMembershipDigest))]
            }
            return [.send(.briefSummary(digest: Self.combinedDigest(ledger: ledgerDigest, membership: local.legacyMembershipDigest)))]

        case (.awaitingReply, .received(.inSync)):
            // Equal digests: the peer holds exactly what this node held when it opened.
            peerVector = localVector
            return finish()

        case (.awaitingReply, .received(.state(let remote, let members))), (.awaitingState, .received(.state(let remote, let members))):
            phase = .planning(remote: remote, compact: false)
            return [.mergeMembers(members, complete: true), .readLocalState(withLedgerDigest: false)]

        case (.awaitingReply, .received(.vector(let remote, let membershipDigest))),
             (.awaitingState, .received(.vector(let remote, let membershipDigest))):
            phase = .planning(remote: remote, compact: true)
            peerMembershipDigest = membershipDigest
            return [.readLocalState(withLedgerDigest: false, membersMissingAt: role == .initiator ? membershipDigest : nil)]

        case (.awaitingSummary, .received(.summary(let ledgerDigest, let membershipDigest))):
            phase = .comparing(ledgerDigest: ledgerDigest, membershipDigest: membershipDigest)
            return [.readLocalState(withLedgerDigest: true)]

        case (.awaitingSummary, .received(.briefSummary(let digest))):
            phase = .comparingBrief(digest: digest)
            return [.readLocalState(withLedgerDigest: true)]

        case (.comparing(let ledgerDigest, let membershipDigest), .localState(let local)):
            if ledgerDigest == local.ledgerDigest && membershipDigest == local.legacyMembershipDigest {
                peerVector = local.vector
                return [.send(.inSync)] + finish()
            }
            phase = .awaitingState
            return [.send(.state(vector: local.vector, members: Self.withoutReports(local.members)))]

        case (.comparingBrief(let digest), .localState(let local)):
            guard let ledgerDigest = local.ledgerDigest else { throw .unexpected("the local state without the digest asked for") }
            if digest == Self.combinedDigest(ledger: ledgerDigest, membership: local.legacyMembershipDigest) {
                peerVector = local.vector
                return [.send(.inSync)] + finish()
            }
            phase = .awaitingState
            return [.send(.vector(local.vector, membershipDigest: membershipDigest(local)))]

        case (.planning(let remote, let compact), .localState(let local)):
            peerVector = remote
            entriesKnown = ReplicationRules.missing(local: remote, remote: local.vector).reduce(0) { $0 + $1.count }
            guard role == .initiator else {
                phase = .receivingEntries(reply: true)
                return []
            }
            phase = .sending(plan: ReplicationRules.missing(local: local.vector, remote: remote), then: .receivingEntries(reply: false))
            guard compact else { return [.send(.state(vector: local.vector, members: Self.withoutReports(local.members)))] + nextBatch() }
            let missing = local.membersMissing ?? []
            return [.send(.vector(local.vector, membershipDigest: membershipDigest(local)))]
                + (missing.isEmpty ? [] : [.send(members(complete: false, missing))]) + nextBatch()

        case (.receivingEntries, .received(.members(let complete, let records))),
             (.receivingEntries, .received(.reportedMembers(let complete, let records))):
            return [.mergeMembers(records, complete: complete)]

        case (.receivingEntries, .received(.entries(let batch))):
            return receive(SealedEntries(batch))

        case (.receivingEntries, .received(.sealedEntries(let batch))):
            return receive(batch)

        case (.receivingEntries, .applied(let outcome)):
            entriesReceived += outcome.stored
            refusedSeals += outcome.refusals.count
            awaitingSeal = outcome.awaitingSeal.entries.count <= Self.maximumAwaitingSeal ? outcome.awaitingSeal : SealedEntries()
            return outcome.refusals.map { .refuseSeal($0) }

        case (.receivingEntries(let reply), .received(.endOfEntries)):
            awaitingSeal = SealedEntries()
            guard reply else { return finish() }
            phase = .replying
            return [.readLocalState(withLedgerDigest: false, membersMissingAt: peerMembershipDigest)]

        case (.replying, .localState(let local)):
            phase = .sending(plan: ReplicationRules.missing(local: local.vector, remote: peerVector ?? VersionVector()), then: .finished)
            // Before version 6 the members went in `state`.
            guard peerMembershipDigest != nil else { return nextBatch() }
            let members: [GossipDirective] = switch local.membersMissing {
            case .some(let missing) where missing.isEmpty: []
            case .some(let missing): [.send(members(complete: false, missing))]
            case nil: [.send(members(complete: true, local.members))]
            }
            return members + nextBatch()

        case (.reading(var plan, let then), .entriesRead(var batch)):
            guard var range = plan.first else { throw .unexpected("entries read with nothing asked") }
            batch = batch.prefix(Self.fittingOneFrame(batch.entries).count)
            if batch.isEmpty {
                plan.removeFirst()
            } else {
                range.first += Int64(batch.entries.count)
                if range.first > range.last { plan.removeFirst() } else { plan[0] = range }
            }
            phase = .sending(plan: plan, then: then)
            entriesSent += batch.entries.count
            let message: GossipMessage = sendsSeals ? .sealedEntries(batch) : .entries(batch.entries)
            return (batch.isEmpty ? [] : [.send(message)]) + nextBatch()

        default:
            throw .outOfTurn(event, while: phaseName)
        }
    }

    /// A received batch, after what waited for a seal: an entry out of its origin's role is
    /// refused with that origin's later entries (they could not be taken past it anyway); the
    /// other origins' go on, so a node that took it before it knew the origin's role does not
    /// stall the rest of replication.
    private mutating func receive(_ batch: SealedEntries) -> [GossipDirective] {
        var offered = awaitingSeal
        offered.append(batch)
        awaitingSeal = SealedEntries()
        if let forged = ReplicationRules.firstOutOfRole(offered.entries, roles: originRoles), let role = originRoles[forged.id.origin] {
            refusedOutOfRole += 1
            let kept = offered.entries.filter { $0.id.origin != forged.id.origin || $0.id.sequence < forged.id.sequence }
            offered = SealedEntries(kept, seals: offered.seals, certificates: offered.certificates)
            return [.refuseOutOfRole(entry: forged.id, code: forged.code, role: role), .apply(offered, from: peer)]
        }
        return [.apply(offered, from: peer)]
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

    /// The membership digest `vector` carries: from version 7 it covers what members hold, and
    /// members go with it (`reported_members`); before, neither does, as the peer computes it.
    /// The opening digest (`brief_summary`, `summary`) never covers reports: a settled pair
    /// stays settled while reports change, and reports travel only in sessions that differ for
    /// another reason (an entry or a member one side lacks). Reports every hour at a thousand
    /// stores would otherwise unsettle every node's sessions every few seconds, each then
    /// sending its whole vector, kilobytes a second per node on an idle chain.
    private func membershipDigest(_ local: LocalReplicaState) -> String {
        version >= ProtocolVersions.reporting ? local.membershipDigest : local.legacyMembershipDigest
    }

    private func members(complete: Bool, _ records: [MemberRecord]) -> GossipMessage {
        version >= ProtocolVersions.reporting ? .reportedMembers(complete: complete, records) : .members(complete: complete, Self.withoutReports(records))
    }

    /// Records as a message before version 7 carries them (its encoding has no room for
    /// reports; the simulation passes messages as values, so they are dropped here too).
    private static func withoutReports(_ records: [MemberRecord]) -> [MemberRecord] {
        records.map { MemberRecord(id: $0.id, address: $0.address, retired: $0.retired) }
    }

    /// Bytes of `brief_summary`'s digest.
    public static let combinedDigestLength = 32

    /// One SHA-256 over the ledger digest and the membership digest: equal on two nodes that
    /// hold the same entries and know the same members.
    public static func combinedDigest(ledger: String, membership: String) -> [UInt8] {
        SHA256Digest.bytes(of: Array("\(ledger)|\(membership)".utf8))
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
        case .opening, .comparing, .comparingBrief, .planning, .replying: "reading local state"
        case .awaitingSummary: "awaiting summary"
        case .awaitingReply: "awaiting reply"
        case .awaitingState: "awaiting state"
        case .sending, .reading: "sending"
        case .receivingEntries: "receiving entries"
        case .finished: "finished"
        }
    }
}
