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
    /// What the peer last said it holds (`HoldingsReport`), as gossip brought it.
    public var holdings: HoldingsReport?
    /// The latest `holdings.at` whose `written` this node held when it last looked
    /// (`report`): it holds every entry of the peer stamped before it.
    public var heldThrough: Int64?
}

/// Timing of failure detection and retries.
public struct MembershipSettings: Sendable {
    /// Consecutive failed attempts before a suspect peer is marked down.
    public var failuresUntilDown = 3
    /// Backoff after the first failure; doubles per further failure.
    public var retryBaseMilliseconds: Int64 = 1_000
    public var retryMaximumMilliseconds: Int64 = 30_000
    /// One pick in this many goes to any due peer; the others to a partner (a peer this node
    /// keeps a connection to) when one is due. See `Membership.targets`.
    public var anyPeerEvery = 16
    /// A node reports what it holds (`Membership.report`) at most this often while it writes
    /// or receives, and every `quietReportMilliseconds` when quiet. The stable horizon lags by
    /// about as much; it is meant to be used in days (beyond the return window).
    public var reportMilliseconds: Int64 = 3_600_000
    public var quietReportMilliseconds: Int64 = 6 * 3_600_000

    public init() {}
}

/// The peer list of one node, spread by gossip: every node learns every other through any
/// node it reaches. Retirement is permanent and spreads the same way (a grow-only set), so a
/// retired id leaves every peer list and is refused if it comes back. Pure: time comes in.
///
/// A peer is sent what it lacks, not the whole list, when this node can tell what that is
/// (`records(missingAt:)`): each change is kept in a bounded log with the digest the records had
/// before it, so a peer whose digest this node once had lacks exactly the members changed since.
/// A peer's complete list, once merged, is remembered the same way (`merge(_:now:complete:)`).
public struct Membership: Sendable {
    public let local: NodeID
    public let localAddress: String
    public let settings: MembershipSettings
    public private(set) var peers: [NodeID: PeerStatus] = [:]
    public private(set) var retired: [NodeID: String] = [:]
    /// Seed addresses not yet tied to a node id, with the time to try each next.
    public private(set) var seeds: [String: Int64] = [:]
    private var seedFailures: [String: Int] = [:]
    private let startedWithSeeds: Bool

    public init(local: NodeID, localAddress: String, seeds: [String] = [], settings: MembershipSettings = MembershipSettings()) {
        self.local = local
        self.localAddress = localAddress
        self.settings = settings
        for seed in seeds where seed != localAddress { self.seeds[seed] = 0 }
        startedWithSeeds = !self.seeds.isEmpty
        recordsChanged([local])
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
    /// Kept with the digest, since sessions read them often and they change seldom.
    public private(set) var records: [MemberRecord] = []

    /// Equal on two nodes that know the same members and retirements. Kept up to date by every
    /// change to the records, since each gossip session reads it.
    public private(set) var digest = ""

    /// The members changed here, oldest first (`changeLogStart` is the first one's position
    /// since this value was made), and the position in it from which the changes bring a set of
    /// records with each digest up to this node's.
    private var changeLog: [NodeID] = []
    private var changeLogStart = 0
    private var digestPositions: [String: Int] = [:]

    /// Most changes kept. Past it the older half is dropped: a peer whose digest is older than
    /// what is left can't be told what it lacks.
    public static let changeLogLimit = 1_024

    /// The same as `digest` without the holdings reports: what a peer speaking protocol
    /// version 6 or older computes, since reports don't reach it. Equal to `digest` while no
    /// member has reported.
    public private(set) var legacyDigest = ""

    /// This node's own report, the last `report` made.
    public private(set) var localHoldings: HoldingsReport?
    /// When this node last reported (monotonic ms) and how many entries it held then
    /// (`isReportDue`).
    private var lastReport: (time: Int64, held: Int64)?
    /// When the first report is due (`isReportDue`), once asked.
    private var firstReportAt: Int64?

    private static func digest(of sorted: [MemberRecord], withHoldings: Bool = true) -> String {
        SHA256Digest.hex(of: Array(sorted.map { record in
            let line = "\(record.id)|\(record.address)|\(record.retired)"
            guard withHoldings, let held = record.holdings else { return line + "\n" }
            return line + "|\(held.at)|\(held.written)|\(held.holdsAllBefore)|\(held.considered)\n"
        }.joined().utf8))
    }

    private mutating func recordsChanged(_ ids: [NodeID]) {
        let earlier = (digest, legacyDigest)
        var records = [MemberRecord(id: local, address: localAddress, retired: retired[local] != nil,
                                    holdings: retired[local] == nil ? localHoldings : nil)]
        records += peers.values.map { MemberRecord(id: $0.id, address: $0.address, holdings: $0.holdings) }
        records += retired.filter { $0.key != local }.map { MemberRecord(id: $0.key, address: $0.value, retired: true) }
        self.records = records.sorted { $0.id < $1.id }
        digest = Self.digest(of: self.records)
        legacyDigest = Self.digest(of: self.records, withHoldings: false)
        guard !earlier.0.isEmpty else { return }
        // A legacy digest that didn't change keeps its older position: the changes since then
        // still bring a peer that has it up to date (and more, harmlessly).
        log(ids, bringingUpFrom: earlier.1 == legacyDigest ? [earlier.0] : [earlier.0, earlier.1])
    }

    /// Logs `ids` (at least one: so the digests kept are no more than the changes) as changes
    /// that bring a set of records with any of the digests `earlier` up to this node's.
    private mutating func log(_ ids: [NodeID], bringingUpFrom earlier: [String]) {
        for digest in earlier { digestPositions[digest] = changeLogStart + changeLog.count }
        changeLog += ids
        if changeLog.count > Self.changeLogLimit {
            let dropped = changeLog.count - Self.changeLogLimit / 2
            changeLog.removeFirst(dropped)
            changeLogStart += dropped
            digestPositions = digestPositions.filter { $0.value >= changeLogStart }
        }
    }

    /// The records a peer whose membership digest is `peerDigest` lacks: none when the digests
    /// are equal; the members changed since, when this node knows the changes from that digest
    /// to its own (it had that digest once, or merged that complete list); nil when it can't
    /// tell (a peer that knows a member this node does not, or one further behind than the log).
    public func records(missingAt peerDigest: String) -> [MemberRecord]? {
        if peerDigest == digest || peerDigest == legacyDigest && digest == legacyDigest { return [] }
        guard let position = digestPositions[peerDigest] else { return nil }
        let changed = Set(changeLog[(position - changeLogStart)...])
        return records.filter { changed.contains($0.id) }
    }

    /// What `readLocalState` answers, with the ledger's part given.
    public func localState(ledgerDigest: String?, vector: VersionVector, membersMissingAt peerDigest: String?) -> LocalReplicaState {
        LocalReplicaState(ledgerDigest: ledgerDigest, vector: vector, membershipDigest: digest, legacyMembershipDigest: legacyDigest,
                          members: records, membersMissing: peerDigest.flatMap(records(missingAt:)))
    }

    public func isRetired(_ id: NodeID) -> Bool { retired[id] != nil }

    /// Folds in members as `merge(_:now:complete:admitsReport:)` does, every report admitted
    /// (a node without the chain's authority, saved peers, tests).
    public mutating func merge(_ records: [MemberRecord], now: Int64, complete: Bool = false) {
        merge(records, now: now, complete: complete) { _, _ in true }
    }

    /// Folds in members a peer gossiped. The digest is recomputed once, not per member.
    /// `complete`: the records are every member the peer knows. This node then notes how its own
    /// differ from them, so that a peer with that list is later sent only the difference.
    /// `admitsReport`: whether a member's report may stand for it (`ReportSealCheck`, with what
    /// this node knows of certificates); one it refuses is left out, as if never sent.
    public mutating func merge(_ records: [MemberRecord], now: Int64, complete: Bool = false,
                               admitsReport: (NodeID, HoldingsReport) throws -> Bool) rethrows {
        // Only a report that would replace the known one is checked (a complete list repeats
        // every member's), and each before any record changes: a check that throws changes nothing.
        let admitted = try records.map { record -> HoldingsReport? in
            guard let reported = record.holdings, !record.retired, record.id != local, retired[record.id] == nil else { return nil }
            if let known = peers[record.id]?.holdings, reported.at <= known.at { return nil }
            return try admitsReport(record.id, reported) ? reported : nil
        }
        var changed: [NodeID] = []
        for (record, holdings) in zip(records, admitted) {
            let added = record.retired ? addRetirement(record.id, address: record.address)
                : addPeer(record.id, address: record.address, holdings: holdings, now: now)
            if added { changed.append(record.id) }
        }
        if !changed.isEmpty { recordsChanged(changed) }
        guard complete else { return }
        let theirs = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let differing = self.records.filter { theirs[$0.id] != $0 }.map(\.id)
        // None differing: the lists are equal, and so are the digests; nothing to remember.
        if !differing.isEmpty { log(differing, bringingUpFrom: [Self.digest(of: records.sorted { $0.id < $1.id })]) }
    }

    /// A peer told us who it is (after authenticating), at `address`.
    public mutating func learn(_ id: NodeID, address: String, now: Int64) {
        if addPeer(id, address: address, now: now) { recordsChanged([id]) }
    }

    public mutating func retire(_ id: NodeID, address: String) {
        if addRetirement(id, address: address) { recordsChanged([id]) }
    }

    /// Retires `id` at the address it is known by (none if it was never seen).
    public mutating func retire(_ id: NodeID) {
        retire(id, address: peers[id]?.address ?? (id == local ? localAddress : ""))
    }

    /// Adds or updates a peer; true when the records changed. A report replaces the known one
    /// only if it is later; none (a legacy peer's record) leaves it.
    private mutating func addPeer(_ id: NodeID, address: String, holdings: HoldingsReport? = nil, now: Int64) -> Bool {
        guard id != local, retired[id] == nil else { return false }
        seeds[address] = nil
        seedFailures[address] = nil
        if var known = peers[id] {
            let later = holdings.map { reported in known.holdings.map { reported.at > $0.at } ?? true } ?? false
            guard known.address != address || later else { return false }
            known.address = address
            if later { known.holdings = holdings }
            peers[id] = known
        } else {
            peers[id] = PeerStatus(id: id, address: address, state: .alive, consecutiveFailures: 0, lastContact: nil, nextAttempt: now,
                                   holdings: holdings)
        }
        return true
    }

    private mutating func addRetirement(_ id: NodeID, address: String) -> Bool {
        guard retired[id] == nil else { return false }
        peers[id] = nil
        retired[id] = address
        return true
    }

    // MARK: What every member holds

    /// This node has reached the chain: it knows a peer (from a session, or saved from an earlier
    /// run), or it was started without seeds (the chain's first node).
    public var hasJoined: Bool { !peers.isEmpty || !startedWithSeeds }

    /// The active members (this node and every peer not retired), as one number: equal on two
    /// nodes that know the same ones.
    public var memberSetHash: UInt64 {
        Self.number(of: ([local] + peers.keys).sorted().map(\.rawValue).joined(separator: "\n"))
    }

    /// The first 8 bytes of SHA-256 over `text`, as a number.
    private static func number(of text: String) -> UInt64 {
        SHA256Digest.bytes(of: Array(text.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// True when this node should report what it holds (`report`): its first report is due,
    /// it wrote or received since and the last report is `reportMilliseconds` old, or the
    /// last is `quietReportMilliseconds` old.
    ///
    /// The first comes a fraction of the interval after the first ask, drawn from this node's
    /// id, so a chain restarted at once (an upgrade) spreads its reports over an interval
    /// instead of a burst; meanwhile peers keep the report from before the restart. A change
    /// of members waits for the next report likewise: every node reporting at once would send
    /// each node every other's report. `now` is monotonic ms, as for the peers' timing (a
    /// report's own time is the hybrid clock's, which a peer's clock running ahead may move
    /// past the wall clock); `written` is this node's last own sequence, `held` how many
    /// entries it holds.
    public mutating func isReportDue(now: Int64, written: Int64, held: Int64) -> Bool {
        guard retired[local] == nil else { return false }
        guard let last = localHoldings, let reportedAt = lastReport?.time else {
            let first = firstReportAt ?? now + Int64(Self.number(of: local.rawValue) % UInt64(max(1, settings.reportMilliseconds)))
            firstReportAt = first
            return now >= first
        }
        let quiet = written == last.written && held == lastReport?.held
        return now - reportedAt >= (quiet ? settings.quietReportMilliseconds : settings.reportMilliseconds)
    }

    /// Reports as `report(now:at:written:vector:seal:)` does, unsealed (a node without a certificate).
    public mutating func report(now: Int64, at: HLCTimestamp, written: Int64, vector: VersionVector) {
        report(now: now, at: at, written: written, vector: vector) { _ in nil }
    }

    /// Reports what this node holds: its own record then carries a new `HoldingsReport`, which
    /// goes with the next sessions that differ for another reason (`ReplicationExchange`).
    /// `at` must be at or after every timestamp this node has given an entry, and before every
    /// one it gives later (a reading of its hybrid clock, `LedgerStore.tickClock`); `now` is
    /// monotonic ms.
    /// `seal`: the node's seal over the report (`HoldingsReport.sealMessage`), nil on a node
    /// without a certificate.
    public mutating func report(now: Int64, at: HLCTimestamp, written: Int64, vector: VersionVector,
                                seal: (HoldingsReport) throws -> EntrySeal?) rethrows {
        notePeersHeld(by: vector)
        var holdsAllBefore = at.wallMilliseconds
        for peer in peers.values { holdsAllBefore = min(holdsAllBefore, peer.heldThrough ?? 0) }
        var report = HoldingsReport(at: at, written: written, holdsAllBefore: holdsAllBefore, considered: memberSetHash)
        report.seal = try seal(report)
        localHoldings = report
        lastReport = (now, vector.entryCount)
        recordsChanged([local])
    }

    /// The chain's stable horizon as this node knows it: every live member (this node and every
    /// peer not retired, reachable or not) has reported over the same members as this node
    /// knows, and each then held every entry stamped before the earliest of their
    /// `holdsAllBefore`, which this is. An entry stamped before it can't arrive anywhere later,
    /// so what is before it may be folded. Nil while any member hasn't reported over those
    /// members (just after a join or a retirement, or a peer on protocol 6 or older): nothing
    /// is stable then. A member that never reports again (down, not retired) holds it back,
    /// rightly: it may hold entries no one else has.
    ///
    /// A node that hasn't joined knows none: it can't tell what its peers hold. A node that has
    /// is known to the peer it joined through from that session on, so that peer's reports
    /// made without it came before it joined. What the horizon can't cover is what a node
    /// writes before it first reaches the chain (a store set up while its network is down):
    /// folding will need a margin for it (docs/design.md, "The stable horizon").
    public var stableHorizon: Int64? {
        guard hasJoined, let own = localHoldings else { return nil }
        let considered = memberSetHash
        guard own.considered == considered else { return nil }
        var horizon = own.holdsAllBefore
        for peer in peers.values {
            guard let held = peer.holdings, held.considered == considered else { return nil }
            horizon = min(horizon, held.holdsAllBefore)
        }
        return horizon
    }

    /// The members the horizon waits for, for operators: while it is unknown, those that
    /// haven't reported over the members this node knows (itself included); once known, the
    /// member whose last report is oldest, since the horizon never passes any member's last
    /// report: a member that is down, or whose reports don't reach this node, shows here. Empty
    /// before this node has joined.
    public var horizonWaitsFor: [NodeID] {
        guard hasJoined else { return [] }
        let considered = memberSetHash
        var reports: [NodeID: HoldingsReport?] = peers.mapValues(\.holdings)
        reports[local] = localHoldings
        let unreported = reports.filter { $0.value?.considered != considered }.keys
        if !unreported.isEmpty { return unreported.sorted() }
        var oldest: (id: NodeID, at: HLCTimestamp)?
        for (id, report) in reports.sorted(by: { $0.key < $1.key }) {
            guard let at = report?.at else { continue }
            if oldest.map({ at < $0.at }) ?? true { oldest = (id, at) }
        }
        return oldest.map { [$0.id] } ?? []
    }

    /// Notes, for each peer's report, whether this node holds the entries it had written by then.
    private mutating func notePeersHeld(by vector: VersionVector) {
        for (id, peer) in peers {
            guard let held = peer.holdings, vector[id] >= held.written, held.at.wallMilliseconds > (peer.heldThrough ?? .min) else { continue }
            peers[id]?.heldThrough = held.at.wallMilliseconds
        }
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
    ///
    /// Most picks go to `partners`, the peers this node keeps a connection to: at a thousand
    /// stores a peer drawn from all of them almost never has one, and a TCP connect and TLS
    /// handshake send about 1 KB, three or four settled sessions' worth. One pick in `MembershipSettings.anyPeerEvery` goes
    /// to any due peer, so partners change over time and every node stays reachable by gossip
    /// through a random graph of partners, which spreads an entry in O(log N) rounds as well.
    /// Peers are drawn in the records' order (sorted), so the same random numbers choose the same
    /// peers whatever the dictionary's order.
    public func targets(now: Int64, fanout: Int, partners: Set<NodeID> = [], using random: inout some RandomNumberGenerator) -> [Target] {
        var chosen: [Target] = []
        var picked = Set<NodeID>()
        let duePartners = partners.sorted().filter { peers[$0].map { $0.nextAttempt <= now } ?? false }
        for _ in 0..<fanout {
            let candidates = duePartners.filter { !picked.contains($0) }
            let id: NodeID?
            if !candidates.isEmpty, Int.random(in: 0..<max(settings.anyPeerEvery, 1), using: &random) != 0 {
                id = candidates[Int.random(in: 0..<candidates.count, using: &random)]
            } else {
                id = anyDuePeer(now: now, excluding: picked, using: &random)
            }
            guard let id, let peer = peers[id] else { break }
            picked.insert(id)
            chosen.append(Target(id: id, address: peer.address))
        }
        guard !seeds.isEmpty else { return chosen }
        let knownAddresses = Set(peers.values.map(\.address))
        for (address, next) in seeds.sorted(by: { $0.key < $1.key }) where next <= now && !knownAddresses.contains(address) {
            chosen.append(Target(id: nil, address: address))
        }
        return chosen
    }

    /// A due peer not in `picked`, drawn from the records until one is found (most rounds, when
    /// most peers are due, after a draw or two), else among every due peer; nil when none is.
    private func anyDuePeer(now: Int64, excluding picked: Set<NodeID>, using random: inout some RandomNumberGenerator) -> NodeID? {
        guard !records.isEmpty else { return nil }
        for _ in 0..<8 {
            let id = records[Int.random(in: 0..<records.count, using: &random)].id
            if let peer = peers[id], peer.nextAttempt <= now, !picked.contains(id) { return id }
        }
        let due = records.compactMap { record in peers[record.id].flatMap { $0.nextAttempt <= now && !picked.contains($0.id) ? $0.id : nil } }
        return due.isEmpty ? nil : due[Int.random(in: 0..<due.count, using: &random)]
    }
}
