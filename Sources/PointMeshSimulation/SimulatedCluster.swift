import PointMeshCore
import PointMeshReplication

/// Faults the simulated network and nodes suffer while `faulty` is on.
public struct FaultSettings: Sendable {
    public var messageLoss = 0.05
    public var messageDuplication = 0.03
    /// Extra random delay, which reorders messages.
    public var maximumExtraDelayMilliseconds: Int64 = 80
    public var partitionChancePerSecond = 0.05
    public var crashChancePerSecond = 0.02
    /// Chances that a local write's transaction, once the write is decided and appended in it,
    /// fails to commit (a storage error: it rolls back and the node carries on, its caches
    /// dropped) or dies with its node (it rolls back and the node restarts from disk later).
    /// Either way the write was never acknowledged.
    public var commitFailureChance = 0.03
    public var crashMidCommitChance = 0.02
    /// The most a node's clock may be off, either way, in ledger milliseconds (design.md,
    /// "Clocks": the hybrid logical clock orders entries whatever the skew).
    public var maximumClockSkew: Int64 = 120_000
    public var clockJumpChancePerSecond = 0.05

    public init() {}
    public static let none: FaultSettings = {
        var settings = FaultSettings()
        settings.messageLoss = 0
        settings.messageDuplication = 0
        settings.maximumExtraDelayMilliseconds = 0
        settings.partitionChancePerSecond = 0
        settings.crashChancePerSecond = 0
        settings.commitFailureChance = 0
        settings.crashMidCommitChance = 0
        settings.maximumClockSkew = 0
        settings.clockJumpChancePerSecond = 0
        return settings
    }()
}

/// What a simulated node stores its ledger in: `MemoryLedger` by default, or the real SQLite
/// store (the tests' `SQLiteSimulatedLedger`), so storage bugs show up in the simulation too.
public protocol SimulatedLedger: ReplicaStore, FactsSource {
    /// A local write at physical time `now` on a node with `settings`, decided by the rules
    /// against this ledger, in a transaction that ends as `fate` says: when it does not commit,
    /// everything the write did is rolled back and `CommitInterrupted` is thrown.
    /// `holdersAsked`: as `RequestContext.holdersAsked`.
    mutating func write(_ write: PreparedWrite, now: Int64, settings: NodeSettings, holdersAsked: HoldersAsked?, fate: CommitFate) throws -> WriteDecision
    /// The lots' deficit summed over every account: the overdrafts outstanding.
    func totalDeficit() throws -> Points
    /// Up to `limit` entries of `origin` after sequence `after`, in sequence order.
    func entries(of origin: NodeID, after: Int64, limit: Int) throws -> [LedgerEntry]
    /// Every entry held.
    func allEntries() throws -> [LedgerEntry]
    /// The entries held that count for nothing (the losing copies of one write).
    func duplicateIDs() throws -> Set<EntryID>
    /// The counting entries the converged history voids (`EntryCondition`).
    func voidIDs() throws -> Set<EntryID>
    /// The node crashed and starts again from what it holds durably: every cache, the clock and
    /// anything derived in memory are gone and rebuilt, as a real node's start does.
    mutating func restartFromDisk() throws
    /// Keeps the membership as the node saves it (its `peers` table), for the facts it answers.
    mutating func saveMembers(_ records: [MemberRecord]) throws
    /// The membership as `saveMembers` last kept it, which a node starts from.
    func savedMembers() throws -> [MemberRecord]
    /// Reads the clock at physical time `now`, moving it past the reading, durably
    /// (`LedgerStore.tickClock`): what a holdings report is stamped with.
    mutating func tickClock(now: Int64) throws -> HLCTimestamp
    /// The node's seal over its holdings report (`LedgerStore.seal(_:)`), nil while it seals nothing.
    func seal(_ report: HoldingsReport) throws -> EntrySeal?
}

/// How a simulated write's transaction ends (`FaultSettings.commitFailureChance`).
public enum CommitFate: Hashable, Sendable {
    case commits
    /// The commit fails (a storage error); the node carries on.
    case fails
    /// The node dies before the commit; it restarts from disk later.
    case crashes
}

/// A write's transaction rolled back without committing: nothing of it happened and nobody was
/// told it did.
public struct CommitInterrupted: Error, Hashable, Sendable {
    public var fate: CommitFate
    public init(fate: CommitFate) { self.fate = fate }
}

extension MemoryLedger: SimulatedLedger {
    /// Memory's transaction is a copy: a write that does not commit is decided on a copy that
    /// is thrown away.
    public func totalDeficit() -> Points { customerAccounts.reduce(.zero) { $0 + lotBook(of: $1).deficit } }

    public mutating func write(_ write: PreparedWrite, now: Int64, settings: NodeSettings, holdersAsked: HoldersAsked?, fate: CommitFate) throws -> WriteDecision {
        guard fate == .commits else {
            var transaction = self
            _ = try transaction.write(write, now: now, settings: settings, holdersAsked: holdersAsked)
            throw CommitInterrupted(fate: fate)
        }
        return try self.write(write, now: now, settings: settings, holdersAsked: holdersAsked)
    }

    public func allEntries() -> [LedgerEntry] { allEntries }
    public func duplicateIDs() -> Set<EntryID> { duplicates }
    public func voidIDs() -> Set<EntryID> { voids }

    public mutating func saveMembers(_ records: [MemberRecord]) { members = records }
    public func savedMembers() -> [MemberRecord] { members }

    public func seal(_ report: HoldingsReport) throws -> EntrySeal? { try sealer?.seal(report.sealMessage(origin: origin)) }

    /// Memory holds nothing on disk but the entries and their seals (`MemoryLedger.restarted`).
    public mutating func restartFromDisk() {
        self = restarted()
    }
}

/// N protocol cores over a simulated network and clock: the same `GossipSession` and
/// `Membership` the real node runs, over any `SimulatedLedger`. Everything random comes from
/// one seed, so a run replays exactly.
public struct SimulatedCluster<Ledger: SimulatedLedger> {
    public struct Node {
        public let id: NodeID
        public var ledger: Ledger
        public var membership: Membership
        public var up = true
        /// The exchanges this node speaks, in its order (`GossipExchangeName`).
        public var exchanges = GossipExchangeName.standard
        /// The protocol versions it speaks: a node of release 0.6 speaks 2 only.
        public var versions = ProtocolVersions.supported
        /// What it is for: a store's node refuses the kinds only HQ may originate, as the real
        /// node's router does (`EntryKindRule.originators`).
        public var role = NodeRole.hq
        /// A Byzantine store: it writes kinds its role may not originate, as a store whose own
        /// check was removed would, and gossips them like any entry.
        public var forgesOutOfRole = false
        /// Each peer's role as its certificate proved it in a session: received entries an
        /// origin's role may not originate are refused, as the real node's gossip does.
        var certifiedRoles: [NodeID: NodeRole] = [:]
        /// The membership's digest when the ledger last saved it, as the node's gossip does.
        var savedMembership = ""
        /// The membership as the node's start builds it before reading its saved peers: its
        /// seeds and settings (`restart`).
        let startingMembership: Membership
        var sessions: [UInt64: ActiveSession] = [:]
        /// The spending rights it has asked holders for; lost with the node's memory in a crash.
        var demand: RightsDemand
        /// The peers it keeps an outgoing connection to, with when each was last used, as the
        /// node's kept connections (`Membership.targets`' partners); lost in a crash.
        var partners: [NodeID: Int64] = [:]
    }

    struct ActiveSession {
        var session: GossipSession
        /// Who the initiator meant to reach; nil on the responder's side.
        var target: Membership.Target?
        /// Names one side offered that the other does not speak.
        var skipped: [String] = []
    }

    enum Event {
        case tick(node: Int)
        case deliver(from: Int, to: Int, session: UInt64, message: GossipMessage, initiatorSide: Bool)
        case timeout(node: Int, session: UInt64)
        case restart(node: Int)
    }

    public private(set) var nodes: [Node]
    public private(set) var now: Int64 = 0
    /// Each node's clock error, in ledger milliseconds: drawn within `FaultSettings.maximumClockSkew`
    /// at start and moved by jumps (forward or back) while faults are on.
    public private(set) var clockSkew: [Int64]
    /// Clock jumps that went backwards, and restarts from disk, so far.
    public private(set) var backwardJumps = 0, restarts = 0
    public var faults: FaultSettings
    public var faulty = true
    public var gossipIntervalMilliseconds: Int64 = 1_000
    public var fanout = 2
    /// Outgoing connections a node keeps between sessions, and how long one may sit unused,
    /// as `GossipSettings`' defaults.
    public var keptConnections = 32
    public var keptIdleMilliseconds: Int64 = 30_000
    /// Sessions a node opened without a kept connection to the peer (a TCP connect and a TLS
    /// handshake each on a real node; the bytes of those are not in `bytesSent`).
    public private(set) var connectionsOpened = 0
    public var batchSize = 50
    /// Ledger milliseconds per network millisecond (see `write`).
    public var ledgerTimeScale: Int64 = 1
    /// What the ledgers' clock reads at the start (0: the Unix epoch, which a clock skewed
    /// back reads as 1969).
    public var ledgerEpoch: Int64 = 0
    /// The return window of odd-numbered nodes, in ledger milliseconds.
    public var returnWindow: Int64 = 0
    /// The transfer cooling-off period of every node, in ledger milliseconds.
    public var transferCoolingOff: Int64 = 0
    /// Every node decides debits under spending rights (`NodeSettings.spendingRights`), asking
    /// holders for rights as a real node does: when a write is refused for want of them.
    public var spendingRights = false
    /// Points a node may overspend on one account once it asked the holders (`OverdraftRoom`;
    /// the node's cap is 50 times it, as `pointmesh serve`'s default).
    public var offlineAllowance = Points.zero
    /// Accounts asked of holders, and grants stored by the nodes that asked, so far.
    public private(set) var rightsAsked = 0, rightsGrantsStored = 0
    public var random: SplitMix64
    /// Bytes of every message sent, as its frame would be on the wire (with MAC).
    public private(set) var bytesSent = 0
    /// Exchanges run to their end, counted on both sides, by name.
    public private(set) var exchangesCompleted: [GossipExchangeName: Int] = [:]
    /// Names offered by one side of a finished session that the other does not speak.
    public private(set) var exchangesSkipped: [String: Int] = [:]
    private var queue = EventQueue<Event>()
    private var nextSessionID: UInt64 = 1
    /// Pairs of nodes that can't reach each other.
    private var partitions: Set<[Int]> = []
    private static var baseLatency: Int64 { 5 }
    /// A session not finished by then is abandoned, as a real node's per-message timeout would.
    private static var sessionTimeout: Int64 { 3_000 }

    /// `count` nodes, each seeded with node 0's address (node 0 seeded with node 1's), each
    /// with the ledger `makeLedger` gives for its id.
    public init(count: Int, seed: UInt64, faults: FaultSettings = FaultSettings(), fullMembership: Bool = false,
                membershipSettings: MembershipSettings = MembershipSettings(), makeLedger: (NodeID) throws -> Ledger) rethrows {
        random = SplitMix64(seed: seed)
        self.faults = faults
        var nodes: [Node] = []
        for index in 0..<count {
            let id = NodeID(unchecked: "n\(index)")
            let seeds = index == 0 ? (count > 1 ? ["sim:1"] : []) : ["sim:0"]
            let starting = Membership(local: id, localAddress: "sim:\(index)", seeds: fullMembership ? [] : seeds, settings: membershipSettings)
            var membership = starting
            if fullMembership {
                membership.merge((0..<count).map { MemberRecord(id: NodeID(unchecked: "n\($0)"), address: "sim:\($0)") }, now: 0)
            }
            nodes.append(Node(id: id, ledger: try makeLedger(id), membership: membership, startingMembership: starting,
                              demand: RightsDemand(node: id, prefix: "\(id)-r0")))
        }
        self.nodes = nodes
        let skewRange = faults.maximumClockSkew
        var skews: [Int64] = []
        for _ in 0..<count { skews.append(skewRange > 0 ? Int64(random.next() % UInt64(2 * skewRange + 1)) - skewRange : 0) }
        clockSkew = skews
        for index in 0..<count {
            queue.schedule(.tick(node: index), at: Int64(random.next() % UInt64(gossipIntervalMilliseconds)))
        }
    }

    // MARK: Driving

    /// Runs events until simulated time reaches `time`.
    public mutating func run(until time: Int64) {
        while let next = queue.nextTime, next <= time {
            guard let (eventTime, event) = queue.pop() else { break }
            now = eventTime
            handle(event)
        }
        now = max(now, time)
    }

    /// A local write at node `index` if it is up; nil when it is down. A refusal (`LedgerError`)
    /// or a failure of the ledger is thrown, so a caller can tell the two apart. The ledger's
    /// clock reads `now × ledgerTimeScale`, and nodes with an odd index run with `returnWindow`,
    /// so a short run crosses expiry instants, return windows and cooling-off periods.
    /// While faults are on, the write's transaction may fail to commit or die with its node
    /// (`FaultSettings.commitFailureChance`): then `CommitInterrupted` is thrown, and a node that
    /// died is down until it restarts from disk.
    /// `afterAsking`: the node asked the holders for rights and waited (`RequestContext.holdersAsked`),
    /// with `offlineAllowance` to overspend.
    public mutating func write(_ command: PreparedWrite, at index: Int, afterAsking: Bool = false) throws -> WriteDecision? {
        guard nodes[index].up else { return nil }
        guard command.kind.originators.contains(nodes[index].role) || nodes[index].forgesOutOfRole else {
            throw LedgerError.hqOnly(operation: command.kind.name, role: nodes[index].role)
        }
        var fate = CommitFate.commits
        if faulty {
            let draw = Double(random.next() % 1_000_000) / 1_000_000
            if draw < faults.commitFailureChance {
                fate = .fails
            } else if draw < faults.commitFailureChance + faults.crashMidCommitChance {
                fate = .crashes
            }
        }
        do {
            let settings = NodeSettings(returnWindow: index % 2 == 1 ? returnWindow : 0, transferCoolingOff: transferCoolingOff,
                                        spendingRights: spendingRights)
            var holdersAsked: HoldersAsked?
            if afterAsking {
                let cap = Points(50 * offlineAllowance.value), outstanding = try nodes[index].ledger.totalDeficit()
                let room = offlineAllowance > .zero ? OverdraftRoom(perAccount: offlineAllowance, nodeLeft: max(.zero, cap - outstanding)) : nil
                holdersAsked = HoldersAsked(overdraftRoom: room)
            }
            let decision = try nodes[index].ledger.write(command, now: ledgerTime(at: index), settings: settings, holdersAsked: holdersAsked, fate: fate)
            // As a real node does: rights to issue follow what a node issues.
            // (The write is made: a ledger that can't read its rights is a failure of the run.)
            if spendingRights, case .append(let entry) = decision, let month = RightsToIssue.monthIssued(by: entry),
               let rights = rightsToIssue(in: month, at: index), rights.runsLow(nodes[index].id, among: nodes.count) {
                askForRights(.issuing(month, rights.share(among: nodes.count)), of: rights.holders(otherThan: nodes[index].id), at: index)
            }
            return decision
        } catch LedgerError.insufficientPointsOffline(let account, let servable, let requested) {
            askForRights(of: account, at: index)
            throw LedgerError.insufficientPointsOffline(account: account, servable: servable, requested: requested)
        } catch LedgerError.budgetExhausted(.chain, let month, let left, let requested, true) {
            askToIssue(requested, in: month, at: index)
            throw LedgerError.budgetExhausted(scope: .chain, month: month, left: left, requested: requested, held: true)
        } catch let interrupted as CommitInterrupted {
            switch interrupted.fate {
            case .commits: break
            case .fails: commitsFailed += 1
            case .crashes:
                crashesMidCommit += 1
                crash(index)
            }
            throw interrupted
        }
    }

    /// Node `index` asks the nodes holding `account`'s unexpired lots, as its ledger shows them,
    /// for its rights, opening a session at once with each holder asked afresh (as a real node
    /// does for a customer waiting at the till, or ahead of need).
    public mutating func askForRights(of account: AccountID, at index: Int) {
        guard nodes[index].up else { return }
        let holders: [NodeID]
        do {
            holders = try nodes[index].ledger.lotBook(of: account).holders(at: ledgerTime(at: index))
        } catch {
            failures.append("\(nodes[index].id) could not read the lots of \(account): \(error)")
            return
        }
        askForRights(.account(account), of: holders, at: index)
    }

    /// Node `index`'s rights to issue in `month` (nil: no chain budget); a ledger that can't
    /// read them is a failure of the run, and nil.
    private mutating func rightsToIssue(in month: CalendarMonth, at index: Int) -> RightsToIssue? {
        do {
            return try nodes[index].ledger.rightsToIssue(in: month)
        } catch {
            failures.append("\(nodes[index].id) could not read its rights to issue in \(month): \(error)")
            return nil
        }
    }

    /// Node `index` asks the nodes holding rights to issue in `month`, as its ledger shows
    /// them, for what it lacks to issue `needed` (at least a share), as a real node's till
    /// call does when an earning finds too few.
    public mutating func askToIssue(_ needed: Points, in month: CalendarMonth, at index: Int) {
        guard nodes[index].up, let rights = rightsToIssue(in: month, at: index) else { return }
        let held = rights.held(by: nodes[index].id)
        guard held < needed else { return }
        askForRights(.issuing(month, rights.wanted(needing: needed - held, among: nodes.count)), of: rights.holders(otherThan: nodes[index].id), at: index)
    }

    private mutating func askForRights(_ subject: RightsSubject, of holders: [NodeID], at index: Int) {
        guard nodes[index].up else { return }
        nodes[index].demand.expire(now: now)
        let asked = nodes[index].demand.want(subject, from: holders, now: now)
        rightsAsked += asked.count
        // Holders asked before are asked again too: the session that carried the request may
        // have been lost.
        for holder in holders where holder != nodes[index].id {
            guard let peer = nodes.firstIndex(where: { $0.id == holder }) else { continue }
            openSession(from: index, to: peer, target: Membership.Target(id: holder, address: "sim:\(peer)"))
        }
    }

    /// Writes whose commit failed, and nodes that died in a write's commit, so far.
    public private(set) var commitsFailed = 0, crashesMidCommit = 0

    /// What node `index`'s clock reads now: the ledgers' clock plus its skew.
    public func ledgerTime(at index: Int) -> Int64 { ledgerTime + clockSkew[index] }

    /// What went wrong inside the protocol's edges during the run: a ledger that could not open
    /// a session or apply what a peer sent. A run over a sound ledger has none. (A message out of
    /// turn, which duplication and reordering produce, ends its session and is not a failure.)
    public private(set) var failures: [String] = []
    /// How many crashes and partition cuts the run has had.
    public private(set) var crashes = 0, cuts = 0
    /// Batches refused because an entry's origin may not originate its kind (a forging store's).
    public private(set) var outOfRoleRefused = 0
    /// Runs of received entries refused because their seal failed (`SealRefusal`).
    public private(set) var sealsRefused = 0

    /// The ledgers' clock now.
    public var ledgerTime: Int64 { ledgerEpoch + now * ledgerTimeScale }

    /// Lifts every fault: no loss, no partitions, every node up.
    public mutating func heal() {
        faulty = false
        partitions = []
        for index in nodes.indices where !nodes[index].up {
            restart(index)
        }
    }

    /// Every node holds the same entries (a ledger that can't be read counts as not converged).
    /// Whether every honest node (all but those that forge) holds the same entries.
    public var converged: Bool {
        let honest = nodes.filter { !$0.forgesOutOfRole }
        guard let first = try? honest.first?.ledger.versionVector() else { return false }
        return honest.allSatisfy { (try? $0.ledger.versionVector()) == first }
    }

    /// Every node knows the same members and retirements.
    /// (What members report they hold is left out: it travels only with sessions that differ
    /// for another reason, `ReplicationExchange`.)
    public var membershipsAgree: Bool {
        guard let first = nodes.first?.membership.legacyDigest else { return true }
        return nodes.allSatisfy { $0.membership.legacyDigest == first }
    }

    /// Where a node's stable horizon is wrong: an entry stamped before it (as its origin holds
    /// it) that a node not retired lacks. The horizon promises that none can arrive later, so
    /// what is before it may be folded; a lie here would fold away an order that changes.
    /// `honest`: the nodes whose horizons, holdings and entries count (all by default). A
    /// Byzantine member can always lie about itself, as a clock fault would; what it must not
    /// do is move an honest node's horizon past what the honest nodes hold.
    public func stableHorizonViolations(honest: Set<Int>? = nil) throws -> [String] {
        var violations: [String] = []
        let members = nodes.indices.filter { index in
            !nodes.contains { $0.membership.isRetired(nodes[index].id) } && honest.map { $0.contains(index) } ?? true
        }
        var vectors: [Int: VersionVector] = [:]
        for index in members { vectors[index] = try nodes[index].ledger.versionVector() }
        var stampedBefore: [Int64: [Int: Int64]] = [:]
        for (viewer, node) in nodes.enumerated() where honest.map({ $0.contains(viewer) }) ?? true {
            guard let horizon = node.membership.stableHorizon else { continue }
            if stampedBefore[horizon] == nil {
                var counts: [Int: Int64] = [:]
                for origin in members {
                    let own = try nodes[origin].ledger.entries(of: nodes[origin].id, after: 0, limit: .max)
                    counts[origin] = Int64(own.prefix { $0.timestamp.wallMilliseconds < horizon }.count)
                }
                stampedBefore[horizon] = counts
            }
            for (origin, count) in stampedBefore[horizon] ?? [:] {
                for index in members where (vectors[index]?[nodes[origin].id] ?? 0) < count {
                    violations.append("\(node.id)'s horizon \(horizon): \(nodes[index].id) holds \(vectors[index]?[nodes[origin].id] ?? 0) of \(nodes[origin].id)'s \(count) entries stamped before it")
                }
            }
        }
        return violations
    }

    /// An operator retires node `retired` at node `index` (`pointmesh retire`), which saves it at
    /// once, as the node does; gossip spreads it. False when node `index` is down: the request
    /// reaches no one.
    @discardableResult
    public mutating func retire(_ retired: Int, at index: Int) -> Bool {
        guard nodes[index].up else { return false }
        nodes[index].membership.retire(nodes[retired].id, address: "sim:\(retired)")
        saveMembershipIfChanged(index)
        return true
    }

    // MARK: Events

    private mutating func handle(_ event: Event) {
        switch event {
        case .tick(let index):
            tick(index)
        case .deliver(let from, let to, let sessionID, let message, let initiatorSide):
            deliver(from: from, to: to, sessionID: sessionID, message: message, toInitiator: !initiatorSide)
        case .timeout(let index, let sessionID):
            guard nodes[index].up, let active = nodes[index].sessions.removeValue(forKey: sessionID) else { return }
            if let target = active.target, !active.session.isFinished {
                nodes[index].membership.failed(target, now: now)
            }
        case .restart(let index):
            restart(index)
        }
    }

    private mutating func tick(_ index: Int) {
        let jitter = Int64(random.next() % 200)
        queue.schedule(.tick(node: index), at: now + gossipIntervalMilliseconds - 100 + jitter)
        if faulty { injectFaults(around: index) }
        guard nodes[index].up else { return }
        reportHoldingsIfDue(index)
        saveMembershipIfChanged(index)
        nodes[index].partners = nodes[index].partners.filter { now - $0.value < keptIdleMilliseconds }
        let targets = nodes[index].membership.targets(now: now, fanout: fanout, partners: Set(nodes[index].partners.keys), using: &random)
        for target in targets {
            guard let peer = Int(target.address.dropFirst(4)), peer != index else { continue }
            openSession(from: index, to: peer, target: target)
        }
    }

    /// As the node's gossip does (`GossipService.reportHoldingsIfDue`).
    private mutating func reportHoldingsIfDue(_ index: Int) {
        do {
            let vector = try nodes[index].ledger.versionVector()
            let written = vector[nodes[index].id]
            guard nodes[index].membership.isReportDue(now: now, written: written, held: vector.entryCount) else { return }
            let reading = try nodes[index].ledger.tickClock(now: ledgerTime(at: index))
            let ledger = nodes[index].ledger
            try nodes[index].membership.report(now: now, at: reading, written: written, vector: vector, seal: ledger.seal)
        } catch {
            failures.append("\(nodes[index].id) could not report what it holds: \(error)")
        }
    }

    private mutating func saveMembershipIfChanged(_ index: Int) {
        let membership = nodes[index].membership
        guard membership.legacyDigest != nodes[index].savedMembership else { return }
        do {
            try nodes[index].ledger.saveMembers(membership.records.filter { $0.id != nodes[index].id || $0.retired })
            nodes[index].savedMembership = membership.legacyDigest
        } catch {
            failures.append("\(nodes[index].id) could not save its membership: \(error)")
        }
    }

    private mutating func injectFaults(around index: Int) {
        let seconds = Double(gossipIntervalMilliseconds) / 1_000
        if random.chance(faults.partitionChancePerSecond * seconds), nodes.count > 1 {
            let other = Int(random.next() % UInt64(nodes.count))
            if other != index {
                let pair = [min(index, other), max(index, other)]
                if partitions.contains(pair) { partitions.remove(pair) } else { partitions.insert(pair); cuts += 1 }
            }
        }
        if random.chance(faults.clockJumpChancePerSecond * seconds), faults.maximumClockSkew > 0 {
            // A jump (an NTP step, a VM resumed), kept within the documented skew.
            let bound = faults.maximumClockSkew
            let jumped = min(bound, max(-bound, clockSkew[index] + Int64(random.next() % UInt64(2 * bound + 1)) - bound))
            if jumped < clockSkew[index] { backwardJumps += 1 }
            clockSkew[index] = jumped
        }
        if random.chance(faults.crashChancePerSecond * seconds), nodes[index].up { crash(index) }
    }

    /// Node `index` stops (sessions in flight are lost) and restarts from disk 1–6 s later.
    private mutating func crash(_ index: Int) {
        stop(index)
        queue.schedule(.restart(node: index), at: now + 1_000 + Int64(random.next() % 5_000))
    }

    /// Node `index` stops, as a store whose machine died: down until `heal` starts it again.
    public mutating func stop(_ index: Int) {
        nodes[index].up = false
        nodes[index].sessions = [:]
        // Its connections die with it, at both ends.
        nodes[index].partners = [:]
        let id = nodes[index].id
        for other in nodes.indices { nodes[other].partners[id] = nil }
        nodes[index].demand = RightsDemand(node: nodes[index].id, prefix: "\(nodes[index].id)-r\(crashes + 1)")
        crashes += 1
    }

    private mutating func restart(_ index: Int) {
        guard !nodes[index].up else { return }
        // The ledger starts again from what is on disk; sessions in flight are lost.
        do {
            try nodes[index].ledger.restartFromDisk()
            restarts += 1
            // Membership lives in memory: a node starts again from its saved peers (no
            // reports, its own or its peers', until gossip brings them), as the node does.
            var membership = nodes[index].startingMembership
            membership.merge(try nodes[index].ledger.savedMembers(), now: now)
            nodes[index].membership = membership
            nodes[index].savedMembership = membership.legacyDigest
        } catch {
            failures.append("\(nodes[index].id) could not start again from its data: \(error)")
        }
        nodes[index].up = true
        nodes[index].sessions = [:]
    }

    /// Node `index` speaks `exchanges` and `versions` from now on, as a node of another release
    /// or with a test-only exchange would.
    public mutating func configure(node index: Int, exchanges: [GossipExchangeName], versions: ProtocolVersions = .supported) {
        nodes[index].exchanges = exchanges
        nodes[index].versions = versions
    }

    /// Node `index` runs as `role` (every node runs as HQ's unless told: it may write anything);
    /// `forging`, it writes what its role may not originate (a Byzantine store).
    public mutating func configure(node index: Int, role: NodeRole, forging: Bool = false) {
        nodes[index].role = role
        nodes[index].forgesOutOfRole = forging
    }

    /// What a session from `initiator` to `responder` runs, as their handshake and
    /// `introduce` messages would settle it; nil when they share no protocol version.
    private func agreement(_ initiator: Int, _ responder: Int) -> (agreed: [GossipExchangeName], skipped: [String])? {
        guard let version = nodes[initiator].versions.common(with: nodes[responder].versions) else { return nil }
        guard version >= ProtocolVersions.introducing else { return ([.replication], []) }
        return GossipExchangeName.agreement(initiator: nodes[initiator].exchanges.map(\.rawValue),
                                            responder: nodes[responder].exchanges.map(\.rawValue))
    }

    /// Changes node `index`'s ledger behind the rules' back: what a node whose code was altered
    /// does (a Byzantine node's forgeries).
    public mutating func tamper<T>(withLedgerOf index: Int, _ body: (inout Ledger) throws -> T) rethrows -> T {
        try body(&nodes[index].ledger)
    }

    /// Changes node `index`'s membership behind the protocol's back (a Byzantine node's).
    public mutating func tamper<T>(withMembershipOf index: Int, _ body: (inout Membership) throws -> T) rethrows -> T {
        try body(&nodes[index].membership)
    }

    /// The protocol version a session between the two speaks, as their handshake would agree it.
    private func version(_ a: Int, _ b: Int) -> UInt8 {
        nodes[a].versions.common(with: nodes[b].versions) ?? 0
    }

    private mutating func openSession(from index: Int, to peer: Int, target: Membership.Target) {
        guard let (agreed, skipped) = agreement(index, peer) else {
            nodes[index].membership.failed(target, now: now)
            return
        }
        let sessionID = nextSessionID
        nextSessionID += 1
        let peerID = nodes[peer].id
        if nodes[index].partners[peerID] != nil {
            nodes[index].partners[peerID] = now
        } else {
            connectionsOpened += 1
            if nodes[index].partners.count < keptConnections { nodes[index].partners[peerID] = now }
        }
        nodes[index].demand.expire(now: now)
        let wanted = target.id.map { nodes[index].demand.wanted(from: $0) } ?? []
        nodes[index].certifiedRoles[nodes[peer].id] = nodes[peer].role
        var active = ActiveSession(session: GossipSession(role: .initiator, exchanges: agreed, batchSize: batchSize, peer: target.id, rightsWanted: wanted,
                                                          originRoles: nodes[index].certifiedRoles, version: version(index, peer)),
                                   target: target, skipped: skipped)
        let outgoing: [GossipMessage]
        do {
            outgoing = try carryOut(.start, in: &active, at: index)
        } catch {
            failures.append("\(nodes[index].id) could not open a session: \(error)")
            return
        }
        nodes[index].sessions[sessionID] = active
        queue.schedule(.timeout(node: index, session: sessionID), at: now + Self.sessionTimeout)
        for message in outgoing { send(message, from: index, to: peer, sessionID: sessionID, fromInitiator: true) }
    }

    /// Feeds `event` to the session and carries out what it directs on node `index`'s ledger
    /// and membership, feeding back each answer, until only messages to send are left.
    private mutating func carryOut(_ event: GossipEvent, in active: inout ActiveSession, at index: Int) throws -> [GossipMessage] {
        var ledger = nodes[index].ledger, membership = nodes[index].membership
        defer {
            nodes[index].ledger = ledger
            nodes[index].membership = membership
        }
        let outgoing = try active.session.run(event, store: &ledger, membership: &membership, now: now, ledgerTime: ledgerTime(at: index))
        if active.session.isFinished {
            outOfRoleRefused += active.session.replication?.refusedOutOfRole ?? 0
            sealsRefused += active.session.replication?.refusedSeals ?? 0
            for name in active.session.completed { exchangesCompleted[name, default: 0] += 1 }
            for name in active.skipped { exchangesSkipped[name, default: 0] += 1 }
            // Answered, or not speakable with this peer: settled either way, as the node does.
            if active.session.role == .initiator, let holder = active.target?.id {
                nodes[index].demand.settle(active.session.rightsWanted, by: holder)
                rightsGrantsStored += active.session.rights?.grantsStored ?? 0
            }
        }
        return outgoing
    }

    /// Notes in `failures` each entry node `index` took since it held `held` that is stamped
    /// before `horizon`, the stable horizon it knew then.
    private mutating func checkArrivals(at index: Int, after held: VersionVector, horizon: Int64) {
        do {
            let holding = try nodes[index].ledger.versionVector()
            for (origin, sequence) in holding.sequences where sequence > held[origin] {
                for entry in try nodes[index].ledger.entries(of: origin, after: held[origin], limit: Int(sequence - held[origin])) where entry.timestamp.wallMilliseconds < horizon {
                    failures.append("\(entry.id) arrived at \(nodes[index].id) stamped \(entry.timestamp.wallMilliseconds), before its stable horizon \(horizon)")
                }
            }
        } catch {
            failures.append("\(nodes[index].id) could not read what arrived: \(error)")
        }
    }

    private mutating func deliver(from: Int, to: Int, sessionID: UInt64, message: GossipMessage, toInitiator: Bool) {
        guard nodes[to].up else { return }
        if !toInitiator && nodes[to].sessions[sessionID] == nil {
            // Only the opening message of a session's first exchange starts one: a late copy of
            // a later message belongs to a session already over.
            guard let (agreed, skipped) = agreement(from, to), GossipSession.opens(agreed, version: version(from, to), with: message) else { return }
            // A new incoming session; the handshake's identify step is modelled by learning the peer.
            nodes[to].membership.learn(nodes[from].id, address: "sim:\(from)", now: now)
            nodes[to].certifiedRoles[nodes[from].id] = nodes[from].role
            nodes[to].sessions[sessionID] = ActiveSession(session: GossipSession(role: .responder, exchanges: agreed, batchSize: batchSize,
                                                                                 peer: nodes[from].id, originRoles: nodes[to].certifiedRoles,
                                                                                 version: version(from, to)),
                                                          target: nil, skipped: skipped)
            queue.schedule(.timeout(node: to, session: sessionID), at: now + Self.sessionTimeout)
        }
        guard var active = nodes[to].sessions[sessionID] else { return }
        var outgoing: [GossipMessage] = []
        var failed = false
        // What the horizon promises, checked where it matters: no entry arrives at a node
        // stamped before the horizon it knew (what it folds below would be ordered again).
        let horizon = nodes[to].membership.stableHorizon
        var held: VersionVector?
        if horizon != nil {
            do { held = try nodes[to].ledger.versionVector() } catch { failures.append("\(nodes[to].id) could not read what it held: \(error)") }
        }
        defer { if let horizon, let held { checkArrivals(at: to, after: held, horizon: horizon) } }
        do {
            outgoing = try carryOut(.received(message), in: &active, at: to)
        } catch GossipProtocolError.unexpected {
            failed = true
        } catch {
            failed = true
            failures.append("\(nodes[to].id) failed on \(message) from \(nodes[from].id): \(error)")
        }
        let isState: Bool = switch message {
        case .state, .vector: true
        default: false
        }
        if toInitiator, isState, let target = active.target, target.id == nil {
            // The seed answered: it is the node behind that address.
            nodes[to].membership.learn(nodes[from].id, address: target.address, now: now)
            active.target = Membership.Target(id: nodes[from].id, address: target.address)
        }
        if failed {
            nodes[to].sessions[sessionID] = nil
            if let target = active.target { nodes[to].membership.failed(target, now: now) }
            return
        }
        for reply in outgoing {
            send(reply, from: to, to: from, sessionID: sessionID, fromInitiator: toInitiator)
        }
        if active.session.isFinished {
            nodes[to].sessions[sessionID] = nil
            if let target = active.target {
                let resolved = target.id == nil ? Membership.Target(id: nodes[from].id, address: target.address) : target
                if target.id == nil { nodes[to].membership.learn(nodes[from].id, address: target.address, now: now) }
                nodes[to].membership.succeeded(resolved, peerVector: active.session.peerVector, now: now)
            }
        } else {
            nodes[to].sessions[sessionID] = active
        }
    }

    private mutating func send(_ message: GossipMessage, from: Int, to: Int, sessionID: UInt64, fromInitiator: Bool) {
        // Frame header (4 + 2) and MAC (32), as on the wire.
        bytesSent += message.payload().count + 38
        if faulty {
            if partitions.contains([min(from, to), max(from, to)]) { return }
            if random.chance(faults.messageLoss) { return }
        }
        let copies = faulty && random.chance(faults.messageDuplication) ? 2 : 1
        for _ in 0..<copies {
            let extra = faulty && faults.maximumExtraDelayMilliseconds > 0 ? Int64(random.next() % UInt64(faults.maximumExtraDelayMilliseconds)) : 0
            queue.schedule(.deliver(from: from, to: to, session: sessionID, message: message, initiatorSide: fromInitiator),
                           at: now + Self.baseLatency + extra)
        }
    }
}

extension SimulatedCluster where Ledger == MemoryLedger {
    /// `count` nodes over memory.
    public init(count: Int, seed: UInt64, faults: FaultSettings = FaultSettings(), fullMembership: Bool = false) {
        self.init(count: count, seed: seed, faults: faults, fullMembership: fullMembership) { MemoryLedger(origin: $0) }
    }

    /// Every node seals its entries and takes a peer's only as far as seals cover them (or from
    /// their origin itself), as nodes on certificates alone do (`ModelSeals`).
    public mutating func sealEverywhere() {
        for index in nodes.indices {
            nodes[index].ledger.sealer = ModelSeals.Sealer(node: nodes[index].id)
            nodes[index].ledger.sealPolicy = SealPolicy(verifier: ModelSeals.Verifier(), requirement: .everyOrigin)
        }
    }
}
