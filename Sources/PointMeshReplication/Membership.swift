import PointMeshCore
import PointMeshCrypto

/// How a node sees a peer.
public enum PeerState: String, Sendable {
    /// The last exchange with it succeeded (or it was just learned of).
    case alive
    /// The last attempt failed; it is retried soon.
    case suspect
    /// Several attempts in a row failed; it is retried with growing backoff.
    case down
}

/// What a node knows of one peer.
public struct PeerStatus: Hashable, Sendable {
    public var id: NodeID
    public var address: String
    public var state: PeerState
    public var consecutiveFailures: Int
    /// When the last exchange succeeded (ms), if ever.
    public var lastContact: Int64?
    /// Earliest time to try it again (ms).
    public var nextAttempt: Int64
    /// The peer's version vector as of the last exchange.
    public var lastKnownVector: VersionVector?
}

/// Timing of failure detection and retries.
public struct MembershipSettings: Sendable {
    /// Consecutive failed attempts before a suspect peer is marked down.
    public var failuresUntilDown = 3
    /// Backoff after the first failure; doubles per further failure.
    public var retryBaseMilliseconds: Int64 = 1_000
    public var retryMaximumMilliseconds: Int64 = 30_000

    public init() {}
}

/// The peer list of one node, spread by gossip: every node learns every other through any
/// node it reaches. Retirement is permanent and spreads the same way (a grow-only set), so a
/// retired id leaves every peer list and is refused if it comes back. Pure: time comes in.
public struct Membership: Sendable {
    public let local: NodeID
    public let localAddress: String
    public let settings: MembershipSettings
    public private(set) var peers: [NodeID: PeerStatus] = [:]
    public private(set) var retired: [NodeID: String] = [:]
    /// Seed addresses not yet tied to a node id, with the time to try each next.
    public private(set) var seeds: [String: Int64] = [:]
    private var seedFailures: [String: Int] = [:]

    public init(local: NodeID, localAddress: String, seeds: [String] = [], settings: MembershipSettings = MembershipSettings()) {
        self.local = local
        self.localAddress = localAddress
        self.settings = settings
        for seed in seeds where seed != localAddress { self.seeds[seed] = 0 }
        recordsChanged()
    }

    /// A peer to contact: by id once known, by address only for a seed not yet identified.
    public struct Target: Hashable, Sendable {
        public var id: NodeID?
        public var address: String

        public init(id: NodeID?, address: String) {
            self.id = id
            self.address = address
        }
    }

    /// Every member this node knows of, itself included, as gossip carries them.
    public var records: [MemberRecord] {
        var records = [MemberRecord(id: local, address: localAddress, retired: retired[local] != nil)]
        records += peers.values.map { MemberRecord(id: $0.id, address: $0.address) }
        records += retired.filter { $0.key != local }.map { MemberRecord(id: $0.key, address: $0.value, retired: true) }
        return records.sorted { $0.id < $1.id }
    }

    /// Equal on two nodes that know the same members and retirements. Kept up to date by every
    /// change to the records, since each gossip session reads it.
    public private(set) var digest = ""

    private mutating func recordsChanged() {
        digest = SHA256Digest.hex(of: Array(records.map { "\($0.id)|\($0.address)|\($0.retired)\n" }.joined().utf8))
    }

    public func isRetired(_ id: NodeID) -> Bool { retired[id] != nil }

    /// Folds in members a peer gossiped. The digest is recomputed once, not per member.
    public mutating func merge(_ records: [MemberRecord], now: Int64) {
        var changed = false
        for record in records {
            if record.retired {
                changed = addRetirement(record.id, address: record.address) || changed
            } else {
                changed = addPeer(record.id, address: record.address, now: now) || changed
            }
        }
        if changed { recordsChanged() }
    }

    /// A peer told us who it is (after authenticating), at `address`.
    public mutating func learn(_ id: NodeID, address: String, now: Int64) {
        if addPeer(id, address: address, now: now) { recordsChanged() }
    }

    public mutating func retire(_ id: NodeID, address: String) {
        if addRetirement(id, address: address) { recordsChanged() }
    }

    /// Retires `id` at the address it is known by (none if it was never seen).
    public mutating func retire(_ id: NodeID) {
        retire(id, address: peers[id]?.address ?? (id == local ? localAddress : ""))
    }

    /// Adds or updates a peer; true when the records changed.
    private mutating func addPeer(_ id: NodeID, address: String, now: Int64) -> Bool {
        guard id != local, retired[id] == nil else { return false }
        seeds[address] = nil
        seedFailures[address] = nil
        if var known = peers[id] {
            guard known.address != address else { return false }
            known.address = address
            peers[id] = known
        } else {
            peers[id] = PeerStatus(id: id, address: address, state: .alive, consecutiveFailures: 0, lastContact: nil, nextAttempt: now)
        }
        return true
    }

    private mutating func addRetirement(_ id: NodeID, address: String) -> Bool {
        guard retired[id] == nil else { return false }
        peers[id] = nil
        retired[id] = address
        return true
    }

    public mutating func succeeded(_ target: Target, peerVector: VersionVector?, now: Int64) {
        guard let id = target.id else { return }
        heard(from: id, peerVector: peerVector, now: now)
    }

    /// A session with `id` succeeded, whichever side started it.
    public mutating func heard(from id: NodeID, peerVector: VersionVector?, now: Int64) {
        guard var peer = peers[id] else { return }
        peer.state = .alive
        peer.consecutiveFailures = 0
        peer.lastContact = now
        peer.nextAttempt = now
        if let peerVector { peer.lastKnownVector = peerVector }
        peers[id] = peer
    }

    public mutating func failed(_ target: Target, now: Int64) {
        if let id = target.id, var peer = peers[id] {
            peer.consecutiveFailures += 1
            peer.state = peer.consecutiveFailures >= settings.failuresUntilDown ? .down : .suspect
            peer.nextAttempt = now + backoff(peer.consecutiveFailures)
            peers[id] = peer
        } else if seeds[target.address] != nil {
            let failures = (seedFailures[target.address] ?? 0) + 1
            seedFailures[target.address] = failures
            seeds[target.address] = now + backoff(failures)
        }
    }

    private func backoff(_ failures: Int) -> Int64 {
        let shift = Int64(min(max(failures - 1, 0), 20))
        return min(settings.retryBaseMilliseconds << shift, settings.retryMaximumMilliseconds)
    }

    /// Up to `fanout` peers due for an exchange, chosen at random; seeds not yet identified are
    /// always included while due, so a new node keeps trying to join.
    public func targets(now: Int64, fanout: Int, using random: inout some RandomNumberGenerator) -> [Target] {
        var due = peers.values.filter { $0.nextAttempt <= now }.sorted { $0.id < $1.id }
        due.shuffle(using: &random)
        var chosen = due.prefix(fanout).map { Target(id: $0.id, address: $0.address) }
        let knownAddresses = Set(peers.values.map(\.address))
        for (address, next) in seeds.sorted(by: { $0.key < $1.key }) where next <= now && !knownAddresses.contains(address) {
            chosen.append(Target(id: nil, address: address))
        }
        return chosen
    }
}
