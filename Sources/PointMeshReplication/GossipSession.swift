import PointMeshCore

/// Why a gossip session was abandoned. The connection is closed; nothing partial was applied
/// beyond whole batches already stored.
public enum GossipProtocolError: Error, Equatable, Sendable {
    case unexpected(String)
    case storage(String)
    /// The peer took longer than the shell waits for a message.
    case timedOut

    /// What an exchange in `phase` answers an event it has no transition for: the timeout, or
    /// the message (or answer) out of turn.
    static func outOfTurn(_ event: GossipEvent, while phase: String) -> GossipProtocolError {
        switch event {
        case .timerFired: .timedOut
        case .received(let message): .unexpected("\(message.name) while \(phase)")
        default: .unexpected("\(event) while \(phase)")
        }
    }
}

/// One gossip session between two nodes after the handshake, as a pure state machine: the
/// shell feeds it events (`handle`) and carries out the directives it returns, in order,
/// feeding back what each asked to read or store. It holds no socket, store or clock.
///
/// A session runs the exchanges both sides speak (`GossipExchangeName.agreement`, from the
/// names each side's `introduce` carried), in the initiator's order, one after the other. Each
/// exchange ends with the initiator receiving its last message, so the initiator starts the
/// next with nothing of the one before in flight.
public struct GossipSession: Sendable {
    public enum Role: Sendable { case initiator, responder }

    private enum Phase: Sendable {
        case idle
        /// `heard`: the exchange has received a message of the peer's.
        case running(index: Int, exchange: Exchange, heard: Bool)
        case finished
    }

    /// One exchange in progress.
    enum Exchange: Sendable {
        case replication(ReplicationExchange)
        case probe(ProbeExchange)
        case spendingRights(RightsExchange)

        mutating func handle(_ event: GossipEvent) throws(GossipProtocolError) -> [GossipDirective] {
            switch self {
            case .replication(var exchange):
                defer { self = .replication(exchange) }
                return try exchange.handle(event)
            case .probe(var exchange):
                defer { self = .probe(exchange) }
                return try exchange.handle(event)
            case .spendingRights(var exchange):
                defer { self = .spendingRights(exchange) }
                return try exchange.handle(event)
            }
        }
    }

    public let role: Role
    public let batchSize: Int
    /// The exchanges both sides speak, in the order they run.
    public let exchanges: [GossipExchangeName]
    private var phase: Phase
    /// Exchanges that ran to their end.
    public private(set) var completed: [GossipExchangeName] = []
    /// The replication exchange, once it started: what it learned of the peer.
    public private(set) var replication: ReplicationExchange?
    /// The spending-rights exchange, once it started.
    public private(set) var rights: RightsExchange?
    /// What the initiator asks for in the spending-rights exchange.
    public let rightsWanted: [RightsWanted]
    /// The node at the other end, once the handshake proved who it is.
    public let peer: NodeID?

    /// The roles origins' certificates proved (the peer's among them when it showed one):
    /// received entries an origin's role may not originate are refused.
    public let originRoles: [NodeID: NodeRole]

    /// The protocol version the handshake agreed: from 5 entries go out with their seals, from 6
    /// an exchange with nothing to ask is left out (`GossipExchangeName.mayBeLeftOut`).
    public let version: UInt8

    public init(role: Role, exchanges: [GossipExchangeName] = [.replication], batchSize: Int = 500, peer: NodeID? = nil,
                rightsWanted: [RightsWanted] = [], originRoles: [NodeID: NodeRole] = [:], version: UInt8 = ProtocolVersions.supported.highest) {
        self.role = role
        self.version = version
        self.exchanges = exchanges
        self.batchSize = batchSize
        self.peer = peer
        self.rightsWanted = rightsWanted
        self.originRoles = originRoles
        phase = .idle
        if role == .responder { phase = begin(0) }
    }

    public var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    /// The peer's vector, once replication heard it.
    public var peerVector: VersionVector? { replication?.peerVector }
    /// Entries newly stored from the peer.
    public var entriesReceived: Int { replication?.entriesReceived ?? 0 }
    /// Entries sent to the peer.
    public var entriesSent: Int { replication?.entriesSent ?? 0 }
    /// Entries the peer said it held that this node did not.
    public var entriesKnown: Int64 { replication?.entriesKnown ?? 0 }

    public mutating func handle(_ event: GossipEvent) throws(GossipProtocolError) -> [GossipDirective] {
        switch (phase, event) {
        case (.idle, .start) where role == .initiator:
            phase = begin(0)
            return try opening()

        case (.running(let index, _, false), .received(let message))
            where role == .responder && version >= ProtocolVersions.compact && exchanges[index].mayBeLeftOut && !exchanges[index].isOpened(by: message):
            // The initiator had nothing to ask in this exchange and left it out.
            phase = begin(index + 1)
            return try handle(event)

        case (.running(let index, var exchange, let heard), _):
            var directives = try exchange.handle(event)
            if case .replication(let state) = exchange { replication = state }
            if case .spendingRights(let state) = exchange { rights = state }
            let heardNow: Bool = if case .received = event { true } else { heard }
            guard let end = directives.firstIndex(of: .finished) else {
                phase = .running(index: index, exchange: exchange, heard: heardNow)
                return directives
            }
            directives.remove(at: end)
            completed.append(exchanges[index])
            phase = begin(index + 1)
            return directives + (try opening())

        default:
            throw .outOfTurn(event, while: phaseName)
        }
    }

    /// Exchange `index` of `exchanges`, or the end of the session. An initiator passes over an
    /// exchange it has nothing to ask in, when the version allows.
    private func begin(_ index: Int) -> Phase {
        guard index < exchanges.count else { return .finished }
        if role == .initiator, version >= ProtocolVersions.compact, exchanges[index].mayBeLeftOut, hasNothingToAsk(in: exchanges[index]) {
            return begin(index + 1)
        }
        let exchange: Exchange = switch exchanges[index] {
        case .replication: .replication(ReplicationExchange(role: role, batchSize: batchSize, originRoles: originRoles,
                                                                         peer: peer, version: version))
        case .probe: .probe(ProbeExchange(role: role, token: "probe"))
        case .spendingRights: .spendingRights(RightsExchange(role: role, wanted: rightsWanted, peer: peer))
        }
        return .running(index: index, exchange: exchange, heard: false)
    }

    private func hasNothingToAsk(in exchange: GossipExchangeName) -> Bool {
        switch exchange {
        case .spendingRights: rightsWanted.isEmpty
        case .replication, .probe: false
        }
    }

    /// Whether `message` opens a session that runs `exchanges` in `version`: it opens the first
    /// exchange, or a later one when those before it may be left out.
    public static func opens(_ exchanges: [GossipExchangeName], version: UInt8, with message: GossipMessage) -> Bool {
        for exchange in exchanges {
            if exchange.isOpened(by: message) { return true }
            guard version >= ProtocolVersions.compact, exchange.mayBeLeftOut else { return false }
        }
        return false
    }

    /// What the phase just begun says first: the initiator opens each exchange; a session with
    /// nothing left to run is finished.
    private mutating func opening() throws(GossipProtocolError) -> [GossipDirective] {
        switch phase {
        case .finished: [.finished]
        case .running where role == .initiator: try handle(.start)
        default: []
        }
    }

    private var phaseName: String {
        switch phase {
        case .idle: "idle"
        case .running(let index, _, _): "in the \(exchanges[index].rawValue) exchange"
        case .finished: "finished"
        }
    }
}
