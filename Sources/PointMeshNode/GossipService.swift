import Dispatch
import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshReplication
import PointMeshStore
import PointMeshThreads
import PointMeshTLS
import Synchronization

/// How a node gossips.
public struct GossipSettings: Sendable {
    public var intervalMilliseconds: Int64 = 1_000
    public var fanout = 2
    /// Failure detection, partner picks and holdings reports (`MembershipSettings`).
    public var membership = MembershipSettings()
    /// Entries per `entries` frame.
    public var batchSize = 1_000
    /// How long to wait for each message before giving up on a peer.
    public var timeoutMilliseconds: Int32 = 10_000
    /// Incoming gossip connections served at once.
    public var maximumIncoming = 64
    /// Wait after a local write before gossiping it, so a burst goes out together.
    public var pushDelayMilliseconds: Int64 = 50
    /// The exchanges this node speaks in a session, in its order (`GossipExchangeName`).
    public var exchanges = GossipExchangeName.standard
    /// Connections this node keeps open to peers between its sessions with them (protocol
    /// version 4), and how long one may sit unused before it is closed. The peer's end waits
    /// twice as long, so the side that opened a connection is the one that closes it.
    public var keptConnections = 32
    public var keptIdleMilliseconds: Int64 = 30_000
    /// How long a connection carries sessions at most: then it is closed and the next session
    /// opens a new one, so a certificate reloaded or expired since its handshake is met again.
    public var keptLifetimeMilliseconds: Int64 = 600_000
    /// For tests only (`POINTMESH_TEST_ALTER_RELAYED=1`): the node tampers with the entries and
    /// holdings reports of other nodes it sends (`GossipService.altered`), as a relay that can't
    /// forge a seal would.
    public var altersRelayedForTests = false

    public init() {}
}

/// The gossip edge: a listener serving peers' sessions, and a ticker starting sessions with
/// `fanout` random peers every interval and soon after local writes. Membership and the
/// session logic are the pure core's; this class owns the sockets and threads, and reads the
/// node's clock: membership's times (last contact, backoff, rounds) are monotonic
/// milliseconds, so a wall clock moved by a rehearsal neither stalls nor hurries gossip.
final class GossipService: Sendable {
    private let store: LedgerStore
    private let listener: TCPListener
    /// What this node proves itself with, and accepts from peers; replaced whole when the
    /// node's certificate is reloaded (a session keeps the context it started with).
    private let tls: Mutex<TLSContext>
    /// The cluster key for peers of a release before 0.8, which speak unencrypted frames; nil
    /// (they are refused) unless `--accept-unencrypted-gossip`.
    private let unencryptedKey: ClusterKey?
    private let settings: GossipSettings
    private let clock: NodeClock
    private let log: Logger
    private let membership: Mutex<Membership>
    /// `busyPeers`: peers with a session in progress either way; a second one at the same time
    /// would only stream the same entries again.
    /// `open`: sockets of sessions in progress, shut down on `stop` so blocked reads end at once.
    private let state = Mutex<(stopping: Bool, incoming: Int, outgoing: Set<String>, busyPeers: Set<NodeID>, savedDigest: String,
                               open: [ObjectIdentifier: TCPConnection])>((false, 0, [], [], "", [:]))
    private let poke = DispatchSemaphore(value: 0)
    /// When this node learned it was retired (monotonic ms), and whether a session it started a
    /// round after that has completed since: that session carries every write it acknowledged
    /// (`tickLoop`).
    private let retirement = Mutex<(learnedAt: Int64?, handedOver: Bool)>((nil, false))
    static let retiredHandOverMilliseconds: Int64 = 30_000
    private let threadsDone = DispatchGroup()
    /// Outgoing connections kept open between sessions, by the address they were dialled at,
    /// with who is at the other end and since when they sat unused (monotonic ms).
    private let kept = Mutex<[String: KeptConnection]>([:])
    /// Incoming connections waiting for their initiator's next session, since when: the first
    /// to go when the incoming limit is reached.
    private let waitingIncoming = Mutex<[ObjectIdentifier: (socket: TCPConnection, since: Int64)]>([:])
    /// Addresses that answered this node in TLS: never dialled again in unencrypted frames
    /// (a cut TLS handshake with them is a cut, not a node of an earlier release).
    private let spokeTLS = Mutex<Set<String>>([])
    /// Outgoing connections opened (each a TCP connect and a TLS handshake): with kept
    /// connections far fewer than sessions.
    let connectionsOpened = Atomic<Int>(0)
    /// The last failure with each peer address (cleared by a session that succeeds), so
    /// `/v1/status` can say why a peer is suspect, not only the log.
    private let lastErrors = Mutex<[String: String]>([:])
    let refusals = Atomic<Int>(0)
    /// Received entries refused because their seal failed (`SealRefusal`).
    let sealRefusals = Atomic<Int>(0)
    /// Holdings reports refused: forged, altered, or unsealed where seals are required
    /// (`ReportSealCheck`).
    let reportRefusals = Atomic<Int>(0)
    /// The certificates peers proved themselves with in sessions since start, by fingerprint:
    /// they check a peer's holdings reports before its entries bring its certificate.
    private let presentedCertificates = Mutex<[CertificateFingerprint: [UInt8]]>([:])
    let sessionsCompleted = Atomic<Int>(0)
    let entriesReceived = Atomic<Int>(0)
    let bytesSent = Atomic<Int>(0)
    let bytesReceived = Atomic<Int>(0)
    /// Exchanges run to their end, and names skipped because one side does not speak them
    /// (`unknown` for a name this release does not know).
    let exchanges = Mutex<(completed: [String: Int], skipped: [String: Int])>(([:], [:]))
    /// Each node's role as its certificate proved it in a session with this node (since start):
    /// entries of a kind an origin's role may not originate are refused (`GossipSession.originRoles`).
    private let certifiedRoles = Mutex<[NodeID: NodeRole]>([:])
    /// The spending rights this node has asked holders for (`RightsDemand`).
    private let rightsDemand: Mutex<RightsDemand>
    /// When this node last granted each account's rights away (monotonic ms), for a while.
    private let grantedAway = Mutex<[AccountID: Int64]>([:])
    /// Subjects asked of holders, grants this node wrote for peers, and grants it received and stored.
    let rightsRequested = Atomic<Int>(0), rightsGranted = Atomic<Int>(0), rightsReceived = Atomic<Int>(0)

    init(store: LedgerStore, listener: TCPListener, advertised: HostPort, seeds: [HostPort], tls: TLSContext,
         unencryptedKey: ClusterKey?, settings: GossipSettings, clock: NodeClock, log: Logger) throws {
        self.store = store
        self.clock = clock
        self.listener = listener
        self.tls = Mutex(tls)
        self.unencryptedKey = unencryptedKey
        self.settings = settings
        self.log = log
        var membership = Membership(local: store.nodeID, localAddress: advertised.description, seeds: seeds.map(\.description),
                                    settings: settings.membership)
        membership.merge(try store.read { try $0.peers() }, now: clock.monotonicMilliseconds())
        self.membership = Mutex(membership)
        rightsDemand = Mutex(RightsDemand(node: store.nodeID, prefix: "rights-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"))
    }

    /// Asks `holders` for `subject` (an account's spending rights, or rights to issue): at once,
    /// in a session of its own with each holder this node can reach and is not already in a
    /// session with (that session's end carries it otherwise). Holders asked before are asked
    /// again: the session that carried the request may have been cut.
    func askForRights(_ subject: RightsSubject, from holders: [NodeID]) {
        let asked = rightsDemand.withLock { demand in
            demand.expire(now: clock.monotonicMilliseconds())
            return demand.want(subject, from: holders, now: clock.monotonicMilliseconds())
        }
        rightsRequested.add(asked.count, ordering: .relaxed)
        for holder in holders where holder != store.nodeID { startSession(with: holder) }
    }

    /// When this node last granted `account`'s rights to another node (monotonic ms), if lately.
    func lastGrantedAway(_ account: AccountID) -> Int64? { grantedAway.withLock { $0[account] } }

    /// Opens a session with `peer` now, unless one is in progress either way or its address is unknown.
    private func startSession(with peer: NodeID) {
        guard let address = membership.withLock({ $0.peers[peer]?.address }) else { return }
        let target = Membership.Target(id: peer, address: address)
        guard claimOutgoing(target) else { return }
        spawn("pm-gossip-out") { [self] in
            initiate(target)
            endOutgoing(target)
        }
    }

    /// An outgoing session ended: the peer is free, and wants for it that arrived meanwhile go now.
    private func endOutgoing(_ target: Membership.Target) {
        state.withLock { state in
            state.outgoing.remove(target.address)
            if let id = target.id { state.busyPeers.remove(id) }
        }
        if let id = target.id { startSessionIfRightsWanted(from: id) }
    }

    private func startSessionIfRightsWanted(from peer: NodeID) {
        let wanted = rightsDemand.withLock { demand in
            demand.expire(now: clock.monotonicMilliseconds())
            return demand.wants(from: peer)
        }
        if wanted, !stopping { startSession(with: peer) }
    }

    var address: HostPort { listener.address }

    /// What this node's certificate says, if it gossips with one.
    var certificate: NodeCertificateFacts? { tls.withLock { $0.certificate } }

    /// Sessions from now on prove this node with `context` (a reloaded certificate).
    func replaceCredentials(_ context: TLSContext) { tls.withLock { $0 = context } }

    func start() {
        spawn("pm-gossip-accpt") { [self] in acceptLoop() }
        spawn("pm-gossip-tick") { [self] in tickLoop() }
    }

    /// A local write happened: gossip soon rather than at the next interval.
    func localWrite() { poke.signal() }

    /// Stops gossiping: sessions in progress are cut (whole batches already applied stay
    /// applied; the peer retries later), and every gossip thread has ended on return.
    func stop() {
        state.withLock { state in
            state.stopping = true
            // Under the lock, so no socket here can have been closed and its descriptor reused.
            for socket in state.open.values { socket.shutdown() }
        }
        poke.signal()
        threadsDone.wait()
        closeKeptConnections()
        listener.close()
    }

    /// Takes charge of a session's socket: registered so `stop` can cut it, or closed at once
    /// (nil) when the service is already stopping.
    private func adopt(_ socket: TCPConnection, role: Handshake.Role) -> GossipConnection? {
        let registered = state.withLock { state in
            guard !state.stopping else { return false }
            state.open[ObjectIdentifier(socket)] = socket
            return true
        }
        guard registered else {
            socket.close()
            return nil
        }
        return GossipConnection(socket: socket, role: role, timeoutMilliseconds: settings.timeoutMilliseconds, openedAt: clock.monotonicMilliseconds())
    }

    /// Counts a finished session's traffic, then forgets and closes its socket, under the same
    /// lock `stop` shuts sockets down with (so no descriptor is shut after being reused).
    private func release(_ connection: GossipConnection) {
        countTraffic(of: connection)
        state.withLock { state in
            state.open.removeValue(forKey: ObjectIdentifier(connection.socket))
            connection.socket.close()
        }
    }

    /// Adds what `connection` carried since it was last counted to the node's byte counters.
    private func countTraffic(of connection: GossipConnection) {
        let (sent, received) = connection.trafficSinceLastCount()
        bytesSent.add(sent, ordering: .relaxed)
        bytesReceived.add(received, ordering: .relaxed)
    }

    /// Retires `id`: it leaves every peer list as this spreads, and is refused from then on.
    func retire(_ id: NodeID) {
        membership.withLock { $0.retire(id) }
        log.info("node \(id) retired")
        saveMembershipIfChanged()
        poke.signal()
    }

    /// Peers, seeds not yet reached, and retired ids, as `GET /v1/status` shows them.
    func peerStatus() -> (peers: [ResponseBodies.Status.Peer], seeds: [ResponseBodies.Status.Seed], retired: [String]) {
        let local = store.versionVector
        let errors = lastErrors.withLock { $0 }
        return membership.withLock { membership in
            let peers = membership.peers.values.sorted { $0.id < $1.id }.map { peer in
                ResponseBodies.Status.Peer(
                    node_id: peer.id.rawValue, address: peer.address, state: peer.state.rawValue,
                    lag_entries: peer.lastKnownVector.map { ReplicationRules.missing(local: local, remote: $0).reduce(0) { $0 + $1.count } },
                    last_contact: peer.lastContact.map { RFC3339.format(milliseconds: clock.wallTime(ofMonotonic: $0)) },
                    last_error: errors[peer.address])
            }
            let seeds = membership.seeds.keys.sorted().map { ResponseBodies.Status.Seed(address: $0, last_error: errors[$0]) }
            return (peers, seeds, membership.retired.keys.map(\.rawValue).sorted())
        }
    }

    /// Each peer as a report's freshness reads it: reachable now, its last exchange (wall
    /// time), and the version vector it showed then.
    func peersForFreshness() -> [NodeID: OriginFreshness.Peer] {
        membership.withLock { membership in
            membership.peers.mapValues { peer in
                OriginFreshness.Peer(alive: peer.state == .alive, lastContact: peer.lastContact.map(clock.wallTime(ofMonotonic:)),
                                     vector: peer.lastKnownVector)
            }
        }
    }

    /// Whether this node knows it has been retired: it then refuses writes (503 `node_retired`).
    var isRetired: Bool { membership.withLock { $0.isRetired($0.local) } }

    /// `id`'s record if this node holds it alive: from an exchange of its own (`lastContact`),
    /// or only from another member's list, which holds new members alive until tried.
    func alivePeer(_ id: NodeID) -> PeerStatus? {
        membership.withLock { membership in membership.peers[id].flatMap { $0.state == .alive ? $0 : nil } }
    }

    /// Gossip connections open now: accepted from peers, and opened to them (in a session, or
    /// kept for the next).
    var openConnections: (incoming: Int, outgoing: Int) {
        let keptCount = kept.withLock { $0.count }
        return state.withLock { ($0.incoming, $0.outgoing.count + keptCount) }
    }

    /// Whether `id` is, or ever was, a member this node knows of (retired ones included).
    func knows(_ id: NodeID) -> Bool {
        membership.withLock { $0.peers[id] != nil || $0.retired[id] != nil || $0.local == id }
    }

    /// The most recent successful exchange with any peer (monotonic milliseconds), and how many
    /// peers this node knows; nil when it has never synced with one.
    /// The nodes of the chain as this node knows them: itself and its members.
    func chainSize() -> Int { membership.withLock { $0.peers.count + 1 } }

    func lastSync() -> (peers: Int, lastContact: Int64?) {
        membership.withLock { membership in
            (membership.peers.count, membership.peers.values.compactMap(\.lastContact).max())
        }
    }

    private func recordError(_ address: String, _ error: (any Error)?) {
        lastErrors.withLock { errors in
            errors[address] = error.map { "\(RFC3339.format(milliseconds: clock.now())) \($0)" }
        }
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// A thread named `name` (at most 15 characters: the OS's limit, `top -H` shows it).
    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        threadsDone.enter()
        NamedThread.start(name) { [threadsDone] in
            body()
            threadsDone.leave()
        }
    }

    // MARK: Outgoing

    private func tickLoop() {
        var random = SystemRandomNumberGenerator()
        var nextRound = clock.monotonicMilliseconds()
        while !stopping {
            let wait = max(0, nextRound - clock.monotonicMilliseconds())
            if poke.wait(timeout: .now() + .milliseconds(Int(wait))) == .success {
                // A local write: let a burst gather, then gossip now.
                usleep(UInt32(settings.pushDelayMilliseconds * 1_000))
                while poke.wait(timeout: .now()) == .success {}
            }
            if stopping { return }
            closeKeptConnections(unusedFor: settings.keptIdleMilliseconds)
            let partners = Set(kept.withLock { $0.values.map(\.introduction.peer) })
            let (targets, isRetired) = membership.withLock { membership in
                (membership.targets(now: clock.monotonicMilliseconds(), fanout: settings.fanout, partners: partners, using: &random),
                 membership.isRetired(membership.local))
            }
            // Writes are refused from the moment this node knows it is retired, but one can be
            // acknowledged while the session that brought the news runs, after that session chose
            // the entries it sends: so the node gossips on until a session it started a round
            // later has completed, then stops.
            // Peers that know it by its certificate refuse it outright: it gives up after
            // `retiredHandOverMilliseconds`.
            if isRetired {
                let now = clock.monotonicMilliseconds()
                let (handedOver, learnedAt) = retirement.withLock { retirement in
                    let learned = retirement.learnedAt ?? now
                    retirement.learnedAt = learned
                    return (retirement.handedOver, learned)
                }
                if handedOver || now - learnedAt >= Self.retiredHandOverMilliseconds {
                    log.warning(handedOver ? "this node was retired from the cluster; it has handed its entries over and no longer gossips"
                                : "this node was retired from the cluster; no peer took a session from it since it knew (its certificate is refused), and it no longer gossips")
                    closeKeptConnections()
                    return
                }
            }
            reportHoldingsIfDue()
            for target in targets where claimOutgoing(target) {
                spawn("pm-gossip-out") { [self] in
                    initiate(target)
                    endOutgoing(target)
                }
            }
            nextRound = clock.monotonicMilliseconds() + settings.intervalMilliseconds
        }
    }

    /// Reports what this node holds when it is due (`Membership.isReportDue`), at a reading of
    /// its hybrid clock that every entry it writes later is stamped after (`LedgerStore.tickClock`).
    private func reportHoldingsIfDue() {
        let held = store.versionVector
        let due = membership.withLock { $0.isReportDue(now: clock.monotonicMilliseconds(), written: held[store.nodeID], held: held.entryCount) }
        guard due else { return }
        do {
            let (reading, vector) = try store.tickClock()
            try membership.withLock {
                try $0.report(now: clock.monotonicMilliseconds(), at: reading, written: vector[store.nodeID], vector: vector, seal: store.seal)
            }
        } catch {
            log.warning("could not report what this node holds: \(error)")
        }
    }

    /// The chain's stable horizon as this node knows it (`Membership.stableHorizon`), wall ms.
    var stableHorizon: Int64? { membership.withLock { $0.stableHorizon } }

    /// The members the horizon waits for (`Membership.horizonWaitsFor`).
    var horizonWaitsFor: [NodeID] { membership.withLock { $0.horizonWaitsFor } }

    /// At most one session per peer at a time, whichever side started it.
    private func claimOutgoing(_ target: Membership.Target) -> Bool {
        state.withLock { state in
            if state.stopping || state.outgoing.contains(target.address) { return false }
            if let id = target.id {
                guard state.busyPeers.insert(id).inserted else { return false }
            }
            state.outgoing.insert(target.address)
            return true
        }
    }

    private func initiate(_ target: Membership.Target) {
        guard let address = HostPort(parsing: target.address) else { return }
        let started = clock.monotonicMilliseconds()
        do {
            var session: GossipSession?
            var current = takeKept(target.address)
            if let reused = current {
                do {
                    session = try runSession(.initiator, on: reused.connection, with: reused.introduction)
                } catch GossipConnectionError.closed {
                    // The peer closed it while it sat unused (it restarted, or waited its time out):
                    // not a failure of the peer's, a fresh connection instead.
                    release(reused.connection)
                    current = nil
                } catch {
                    release(reused.connection)
                    throw error
                }
            }
            if session == nil {
                guard let connection = try connect(to: address) else { return }
                do {
                    let introduction = try exchangeIdentities(connection, initiator: true, dialed: target.address)
                    if let expected = target.id, expected != introduction.peer {
                        release(connection)
                        membership.withLock { $0.failed(target, now: clock.monotonicMilliseconds()) }
                        log.warning("gossip peer at \(target.address) is now \(introduction.peer), not \(expected)")
                        saveMembershipIfChanged()
                        return
                    }
                    current = KeptConnection(connection: connection, introduction: introduction, since: 0)
                    session = try runSession(.initiator, on: connection, with: introduction)
                } catch {
                    release(connection)
                    throw error
                }
            }
            guard let session, let current else { return }
            keepOrRelease(current, dialled: target.address)
            let resolved = Membership.Target(id: current.introduction.peer, address: target.address)
            membership.withLock { $0.succeeded(resolved, peerVector: session.peerVector, now: clock.monotonicMilliseconds()) }
            recordError(target.address, nil)
            sessionsCompleted.add(1, ordering: .relaxed)
            retirement.withLock { retirement in
                if let learned = retirement.learnedAt, started >= learned + settings.intervalMilliseconds { retirement.handedOver = true }
            }
        } catch {
            recordError(target.address, error)
            let wasUp = membership.withLock { membership in
                let before = target.id.flatMap { membership.peers[$0]?.state }
                membership.failed(target, now: clock.monotonicMilliseconds())
                return before != .down && before != nil
            }
            if isRefusal(error) { refusals.add(1, ordering: .relaxed) }
            if wasUp || target.id == nil || isRefusal(error) {
                log.warning("gossip with \(target.id?.rawValue ?? "seed") at \(target.address) failed: \(error)",
                            ["peer": target.id?.rawValue ?? "seed", "address": target.address])
            }
        }
        saveMembershipIfChanged()
    }

    /// Connects to `address` and authenticates: over TLS, or, under
    /// `--accept-unencrypted-gossip`, with unencrypted frames once the peer hung up on the TLS
    /// hello (a node of a release before 0.8 reads it as an oversized frame), unless that
    /// address has answered in TLS before. Nil when the service is stopping.
    private func connect(to address: HostPort) throws -> GossipConnection? {
        guard let connection = adopt(try TCPConnection.connect(to: address, timeoutMilliseconds: 2_000), role: .initiator) else { return nil }
        connectionsOpened.add(1, ordering: .relaxed)
        do {
            try connection.authenticate(role: .initiator, tls: tls.withLock { $0 })
            spokeTLS.withLock { _ = $0.insert(address.description) }
            return connection
        } catch GossipConnectionError.closed where unencryptedKey != nil && !spokeTLS.withLock({ $0.contains(address.description) }) {
            release(connection)
        } catch {
            release(connection)
            throw error
        }
        guard let unencryptedKey, let unencrypted = adopt(try TCPConnection.connect(to: address, timeoutMilliseconds: 2_000), role: .initiator) else {
            return nil
        }
        do {
            try unencrypted.authenticateUnencrypted(key: unencryptedKey)
            return unencrypted
        } catch {
            release(unencrypted)
            throw error
        }
    }

    /// A kept connection dialled at `address`, taken out of the pool for a session.
    private func takeKept(_ address: String) -> KeptConnection? {
        kept.withLock { $0.removeValue(forKey: address) }
    }

    /// After a session: back into the pool if the peer keeps connections (version 4) and the
    /// pool has room, else closed.
    private func keepOrRelease(_ current: KeptConnection, dialled address: String) {
        countTraffic(of: current.connection)
        guard mayCarryMoreSessions(current.connection) else { return release(current.connection) }
        let pooled = KeptConnection(connection: current.connection, introduction: current.introduction, since: clock.monotonicMilliseconds())
        let keeps = kept.withLock { pool in
            guard pool[address] == nil, pool.count < settings.keptConnections else { return false }
            pool[address] = pooled
            return true
        }
        if !keeps { release(current.connection) }
    }

    /// Whether `connection` may carry another session: the peer keeps connections (version
    /// 4), this node is not stopping, and the connection is younger than its lifetime.
    private func mayCarryMoreSessions(_ connection: GossipConnection) -> Bool {
        connection.isPersistent && !stopping && clock.monotonicMilliseconds() - connection.openedAt < settings.keptLifetimeMilliseconds
    }

    /// Closes the kept connections unused for `unusedFor` milliseconds or more (0: every one,
    /// when the node stops gossiping).
    private func closeKeptConnections(unusedFor: Int64 = 0) {
        let now = clock.monotonicMilliseconds()
        let closing = kept.withLock { pool in
            let old = pool.filter { now - $0.value.since >= unusedFor }
            for address in old.keys { pool.removeValue(forKey: address) }
            return old.values.map(\.connection)
        }
        for connection in closing { release(connection) }
    }

    // MARK: Incoming

    private func acceptLoop() {
        while !stopping {
            let socket: TCPConnection?
            do {
                socket = try listener.accept(waitingAtMost: 200)
            } catch {
                log.warning("gossip accept failed: \(error)")
                usleep(50_000)
                continue
            }
            guard let socket else { continue }
            var admitted = state.withLock { state in
                guard state.incoming < settings.maximumIncoming, !state.stopping else { return false }
                state.incoming += 1
                return true
            }
            // At the limit, the connection waiting longest for its initiator's next session
            // makes room (its thread ends at once): kept connections can't lock a peer out.
            if !admitted, evictWaitingIncoming() {
                state.withLock { $0.incoming += 1 }
                admitted = true
            }
            guard admitted else {
                socket.close()
                continue
            }
            spawn("pm-gossip-in") { [self] in
                respond(socket)
                state.withLock { $0.incoming -= 1 }
            }
        }
    }

    private func respond(_ socket: TCPConnection) {
        guard let connection = adopt(socket, role: .responder) else { return }
        defer { release(connection) }
        var peer: NodeID?
        do {
            try connection.authenticate(role: .responder, tls: tls.withLock { $0 }, unencryptedKey: unencryptedKey)
            let introduction = try exchangeIdentities(connection, initiator: false, dialed: nil)
            let identified = introduction.peer
            peer = identified
            // From version 4 the initiator may start more sessions on this connection: each is
            // served as it begins, until the initiator closes it or stays silent too long.
            repeat {
                let claimed = state.withLock { $0.busyPeers.insert(identified).inserted }
                defer {
                    if claimed {
                        state.withLock { _ = $0.busyPeers.remove(identified) }
                        startSessionIfRightsWanted(from: identified)
                    }
                }
                let session = try runSession(.responder, on: connection, with: introduction)
                // A session the peer started is contact too: `last_contact` and the sync note on
                // refusals must not depend on which side dialled.
                membership.withLock { $0.heard(from: identified, peerVector: session.peerVector, now: clock.monotonicMilliseconds()) }
                sessionsCompleted.add(1, ordering: .relaxed)
                countTraffic(of: connection)
                saveMembershipIfChanged()
            } while try mayCarryMoreSessions(connection) && awaitNextSession(on: connection)
        } catch GossipConnectionError.closed where peer == nil && connection.bytesReceived == 0 {
            // A port probe that sent nothing.
        } catch {
            if isRefusal(error) { refusals.add(1, ordering: .relaxed) }
            log.warning("closing gossip connection from \(peer?.rawValue ?? "unidentified peer"): \(error)", ["peer": peer?.rawValue ?? "unidentified"])
        }
        saveMembershipIfChanged()
    }

    /// Waits for the initiator's next session on a kept connection, listed meanwhile as the
    /// first to make room at the incoming limit. False when it closed, stayed silent for twice
    /// the initiator's idle time, or was evicted.
    private func awaitNextSession(on connection: GossipConnection) throws -> Bool {
        let key = ObjectIdentifier(connection.socket)
        waitingIncoming.withLock { $0[key] = (connection.socket, clock.monotonicMilliseconds()) }
        defer { waitingIncoming.withLock { _ = $0.removeValue(forKey: key) } }
        return try connection.awaitNextSession(waitingAtMost: Int32(clamping: 2 * settings.keptIdleMilliseconds))
    }

    /// Shuts the longest-waiting kept incoming connection down; false when none waits.
    private func evictWaitingIncoming() -> Bool {
        // Under the state lock, as `stop` shuts sockets: a socket still registered is not closed.
        state.withLock { state in
            let victim = waitingIncoming.withLock { waiting in
                waiting.min { $0.value.since < $1.value.since }.flatMap { waiting.removeValue(forKey: $0.key) }
            }
            guard let victim, state.open[ObjectIdentifier(victim.socket)] != nil else { return false }
            victim.socket.shutdown()
            return true
        }
    }

    private func isRefusal(_ error: any Error) -> Bool {
        switch error {
        case GossipConnectionError.tls, GossipConnectionError.handshake, GossipConnectionError.handshakeAbandoned, GossipConnectionError.refused,
             GossipConnectionError.refusedByPeer, GossipConnectionError.frame:
            // A frame that does not read (garbage on the port, a forged or oversized one) is as
            // much a refusal as a wrong key.
            true
        default:
            false
        }
    }

    // MARK: Shared steps

    /// Who the peer is, and what a session with it runs.
    struct Introduction: Sendable {
        let peer: NodeID
        let exchanges: [GossipExchangeName]
        let skipped: [String]
    }

    /// After authentication each side says who it is and, from version 3, which exchanges it
    /// speaks (`introduce`; version 2's `identify` names none: replication alone). A retired
    /// node is refused.
    private func exchangeIdentities(_ connection: GossipConnection, initiator: Bool, dialed: String?) throws -> Introduction {
        let (local, advertised) = membership.withLock { ($0.local, $0.localAddress) }
        let introducing = connection.version >= ProtocolVersions.introducing
        let spoken = settings.exchanges.map(\.rawValue)
        let ours: GossipMessage = introducing ? .introduce(node: local, address: advertised, exchanges: spoken) : .identify(node: local, address: advertised)
        if initiator { try connection.send(ours) }
        let peer: NodeID, peerAddress: String, theirs: [String]
        switch try connection.receive() {
        case .identify(let node, let address) where !introducing:
            (peer, peerAddress, theirs) = (node, address, [GossipExchangeName.replication.rawValue])
        case .introduce(let node, let address, let exchanges) where introducing:
            (peer, peerAddress, theirs) = (node, address, exchanges)
        case .refused(let reason):
            throw GossipConnectionError.refusedByPeer(reason)
        case let other:
            throw GossipConnectionError.unexpected(other.name)
        }
        if peer == local { throw GossipConnectionError.refused("the peer has this node's own id \(local)") }
        if let certified = connection.peerCertificate {
            guard certified.nodeID == peer.rawValue else {
                throw GossipConnectionError.refused("the peer says it is node \(peer) but its certificate is for node \(certified.nodeID)")
            }
            // A role this release does not know gets the least a role may do.
            let role = NodeRole(rawValue: certified.role) ?? .store
            certifiedRoles.withLock { $0[peer] = role }
            presentedCertificates.withLock { $0[CertificateFingerprint.of(certificate: certified.der)] = certified.der }
        }
        // A retired node is no member (never dialled, never in a peer list), but a session it
        // opens goes ahead: it hands over the entries it acknowledged before it knew, and learns
        // from this node's members that it is retired.
        let retired = membership.withLock { $0.isRetired(peer) }
        if retired, initiator { throw GossipConnectionError.refused("node \(peer) has been retired") }
        // A retired node's certificate admits it no more; on the cluster key it may still hand
        // over what it acknowledged before it knew (below).
        if retired, connection.peerCertificate != nil {
            throw GossipConnectionError.refused("node \(peer) has been retired: its certificate is no longer accepted")
        }
        if !initiator { try connection.send(ours) }
        if retired {
            log.info("node \(peer) is retired: taking the entries it holds, and telling it so", ["peer": peer.rawValue])
        } else {
            membership.withLock { $0.learn(peer, address: dialed ?? peerAddress, now: clock.monotonicMilliseconds()) }
        }
        let (agreed, skipped) = introducing
            ? GossipExchangeName.agreement(initiator: initiator ? spoken : theirs, responder: initiator ? theirs : spoken)
            : ([.replication], [])
        return Introduction(peer: peer, exchanges: agreed, skipped: skipped)
    }

    /// Runs a session to its end: feeds the pure `GossipSession` what arrives and what the store
    /// answers, and carries out what it directs.
    private func runSession(_ role: GossipSession.Role, on connection: GossipConnection, with introduction: Introduction) throws -> GossipSession {
        let wanted = role == .initiator ? rightsDemand.withLock { $0.wanted(from: introduction.peer) } : []
        var session = GossipSession(role: role, exchanges: introduction.exchanges, batchSize: settings.batchSize, peer: introduction.peer,
                                    rightsWanted: wanted, originRoles: certifiedRoles.withLock { $0 },
                                    version: connection.version)
        let progress = CatchUpProgress(peer: introduction.peer, clock: clock, log: log)
        var events: [GossipEvent] = role == .initiator ? [.start] : []
        while !session.isFinished {
            if stopping { throw GossipConnectionError.refused("this node is shutting down") }
            let event: GossipEvent
            if events.isEmpty {
                do {
                    event = .received(try connection.receive())
                } catch GossipConnectionError.timedOut {
                    event = .timerFired
                }
            } else {
                event = events.removeFirst()
            }
            let directives: [GossipDirective]
            do {
                directives = try session.handle(event)
            } catch {
                throw error == .timedOut ? GossipConnectionError.timedOut : GossipConnectionError.session(error)
            }
            for directive in directives {
                if let answer = try carryOut(directive, on: connection, progress: progress) { events.append(answer) }
            }
            progress.known = session.entriesKnown
        }
        progress.finish()
        // What the session carried is answered, or can't be (a peer of a release without the
        // exchange): either way not asked again at once, or sessions with it would follow one
        // another without end.
        if role == .initiator { rightsDemand.withLock { $0.settle(wanted, by: introduction.peer) } }
        if let rights = session.rights, rights.isFinished {
            rightsReceived.add(rights.grantsStored, ordering: .relaxed)
            rightsGranted.add(rights.grantsWritten, ordering: .relaxed)
        }
        exchanges.withLock { counts in
            for name in session.completed { counts.completed[name.rawValue, default: 0] += 1 }
            // A name this release does not know (a newer peer's) is counted as `unknown`: a peer
            // must not choose the metric's labels.
            for name in introduction.skipped { counts.skipped[GossipExchangeName(rawValue: name)?.rawValue ?? "unknown", default: 0] += 1 }
        }
        return session
    }

    /// Carries out one directive of a session; returns the event that answers it, if any.
    private func carryOut(_ directive: GossipDirective, on connection: GossipConnection, progress: CatchUpProgress) throws -> GossipEvent? {
        if case .send(let message) = directive {
            try connection.send(message)
            return nil
        }
        do {
            switch directive {
            case .send, .finished:
                return nil
            case .refuseOutOfRole(let entry, let code, let role):
                refusals.add(1, ordering: .relaxed)
                log.warning("refused entry \(entry) from \(progress.peer): a \(EntryKinds.name(of: code)) entry, which a \(role.rawValue) node may not originate, and node \(entry.origin)'s certificate says \(role.rawValue); none of that origin's later entries are taken",
                            ["peer": progress.peer.rawValue])
                return nil
            case .readLocalState(let withLedgerDigest, let peerDigest):
                let ledgerDigest = withLedgerDigest ? try store.ledgerDigest() : nil
                let vector = store.versionVector
                var state = membership.withLock { $0.localState(ledgerDigest: ledgerDigest, vector: vector, membersMissingAt: peerDigest) }
                if settings.altersRelayedForTests {
                    state.members = Self.altered(state.members, local: store.nodeID)
                    state.membersMissing = state.membersMissing.map { Self.altered($0, local: store.nodeID) }
                }
                return .localState(state)
            case .refuseSeal(let refusal):
                sealRefusals.add(1, ordering: .relaxed)
                log.warning("refused entries of node \(refusal.entry.origin) from \(progress.peer) from \(refusal.entry) on: \(refusal); the rest waits for a peer that holds them as their origin wrote them",
                            ["peer": progress.peer.rawValue, "reason": refusal.reason])
                return nil
            case .readEntries(let origin, let after, let limit):
                var read = try store.read { try $0.sealedEntries(of: origin, after: after, limit: limit) }
                if settings.altersRelayedForTests, origin != store.nodeID { read = Self.altered(read) }
                return .entriesRead(read)
            case .apply(let batch, let sender):
                let outcome = try store.applyReceived(batch, from: sender)
                entriesReceived.add(outcome.stored, ordering: .relaxed)
                progress.applied(outcome.stored)
                return .applied(outcome)
            case .mergeMembers(let records, let complete):
                let presented = presentedCertificates.withLock { $0 }
                let learnedRetired = try membership.withLock { membership in
                    let before = membership.isRetired(membership.local)
                    try membership.merge(records, now: clock.monotonicMilliseconds(), complete: complete) { origin, report in
                        switch try store.check(report, of: origin, presented: presented) {
                        case .admitted:
                            return true
                        case .unknownCertificate:
                            return false
                        case .refused(let reason):
                            reportRefusals.add(1, ordering: .relaxed)
                            log.warning("refused \(reason), from \(progress.peer)", ["peer": progress.peer.rawValue])
                            return false
                        }
                    }
                    return !before && membership.isRetired(membership.local)
                }
                if learnedRetired {
                    log.warning("this node has been retired from the cluster: it refuses writes from now on (503 node_retired) and hands what it holds to its peers")
                }
                return nil
            case .grantRights(let wanted, let receiver):
                let granted = try RightsWanted.grants(wanted, to: receiver) { write in
                    switch try store.write(write, context: RequestContext(node: store.nodeID, now: clock.now())) {
                    case .created(let entry): .append(entry)
                    case .replayed(let entry): .replay(entry)
                    }
                }
                let now = clock.monotonicMilliseconds()
                grantedAway.withLock { away in
                    if away.count > 100_000 { away = away.filter { now - $0.value < RightsDemand.lifetime } }
                    for entry in granted { for account in entry.customerAccounts { away[account] = now } }
                }
                return .granted(granted)
            }
        } catch {
            throw GossipConnectionError.session(.storage("\(error)"))
        }
    }

    /// What a relaying node that tampers sends (`GossipSettings.altersRelayedForTests`): each
    /// earning's points raised by 1,000, its seal left as it was.
    private static func altered(_ batch: SealedEntries) -> SealedEntries {
        var batch = batch
        for index in batch.entries.indices where batch.entries[index].code == Earn.code {
            for move in batch.entries[index].moves.indices { batch.entries[index].moves[move].amount = Points(batch.entries[index].moves[move].amount.value + 1_000) }
        }
        return batch
    }

    /// What a relaying node that tampers sends of other members' records: each holdings report
    /// a moment later and saying it wrote nothing (as if the member had no entries to wait for),
    /// its seal left as it was.
    private static func altered(_ records: [MemberRecord], local: NodeID) -> [MemberRecord] {
        records.map { record in
            guard record.id != local, var report = record.holdings else { return record }
            report.at = HLCTimestamp(wallMilliseconds: report.at.wallMilliseconds, logical: report.at.logical + 1)
            report.written = 0
            var altered = record
            altered.holdings = report
            return altered
        }
    }

    /// The peers table keeps no holdings reports, so only a change of what it keeps saves it.
    private func saveMembershipIfChanged() {
        let (digest, records) = membership.withLock { ($0.legacyDigest, $0.records) }
        let changed = state.withLock { state in
            defer { state.savedDigest = digest }
            return state.savedDigest != digest
        }
        guard changed else { return }
        do {
            try store.savePeers(records.filter { $0.id != store.nodeID || $0.retired })
        } catch {
            log.warning("could not save the peer list: \(error)")
        }
    }
}

/// Logs a catch-up's progress: entries received of entries the peer said it had for us.
private final class CatchUpProgress {
    let peer: NodeID
    let clock: NodeClock
    let log: Logger
    var known: Int64 = 0
    private var received: Int64 = 0
    private var lastLog: Int64
    /// Below this, an exchange is routine gossip, not a catch-up worth logging.
    static let threshold: Int64 = 1_000

    init(peer: NodeID, clock: NodeClock, log: Logger) {
        self.peer = peer
        self.clock = clock
        self.log = log
        lastLog = clock.monotonicMilliseconds()
    }

    func applied(_ count: Int) {
        received += Int64(count)
        if known >= Self.threshold, clock.monotonicMilliseconds() - lastLog >= 1_000 {
            lastLog = clock.monotonicMilliseconds()
            log.info("catching up from \(peer): received \(received) of \(known) entries", ["peer": peer.description])
        }
    }

    func finish() {
        if known >= Self.threshold {
            log.info("caught up from \(peer): received \(received) of \(known) entries", ["peer": peer.description])
        }
    }
}

/// An outgoing connection kept between sessions: who answered at the other end, and since
/// when it sat unused.
private struct KeptConnection: Sendable {
    let connection: GossipConnection
    let introduction: GossipService.Introduction
    let since: Int64
}
