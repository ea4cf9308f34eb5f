import PointMeshCore

/// A round trip of a token, for tests of exchange negotiation only: the initiator sends
/// `probe(token)`, the responder sends it back.
public struct ProbeExchange: Sendable {
    public let role: GossipSession.Role
    private let token: String
    public private(set) var isFinished = false

    public init(role: GossipSession.Role, token: String) {
        self.role = role
        self.token = token
    }

    public mutating func handle(_ event: GossipEvent) throws(GossipProtocolError) -> [GossipDirective] {
        switch (role, event) {
        case (.initiator, .start) where !isFinished:
            return [.send(.probe(token: token))]
        case (.initiator, .received(.probe(let echoed))) where echoed == token && !isFinished:
            isFinished = true
            return [.finished]
        case (.responder, .received(.probe(let token))) where !isFinished:
            isFinished = true
            return [.send(.probe(token: token)), .finished]
        default:
            throw .outOfTurn(event, while: "in the probe exchange")
        }
    }
}
