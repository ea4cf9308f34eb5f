import PointMeshCore
import PointMeshCrypto
import PointMeshHTTP
import PointMeshReplication

/// Why a gossip connection ended early. Each is logged and the connection closed.
enum GossipConnectionError: Error, CustomStringConvertible {
    case frame(FrameCodec.FrameError)
    case handshake(Handshake.Failure)
    /// The peer hung up after our challenge instead of proving it holds the key.
    case handshakeAbandoned
    case session(GossipProtocolError)
    case refusedByPeer(String)
    case refused(String)
    case closed
    case timedOut
    case unexpected(String)

    var description: String {
        switch self {
        case .frame(.tooLarge(let size)): "frame of \(size) bytes exceeds the limit"
        case .frame(.unsupportedVersion(1)):
            "the peer speaks gossip protocol 1 (pointmesh 0.2 or older); this node speaks \(ProtocolVersions.supported): "
                + "upgrade the peer (docs/operations.md, \"Upgrading a chain\")"
        case .frame(.unsupportedVersion(let version)): "unknown protocol version \(version)"
        case .frame(.badMAC): "frame failed authentication"
        case .frame(.malformed(let why)): "malformed frame (\(why))"
        case .handshake(.badProof): "authentication failed: the peer does not hold this cluster's key"
        case .handshake(.unexpected(let what)): "unexpected \(what) during the handshake"
        case .handshake(.noCommonVersion(let ours, let theirs)):
            "no common protocol version: this node speaks \(ours), the peer \(theirs); upgrade the older one (docs/operations.md, \"Upgrading a chain\")"
        case .handshakeAbandoned: "authentication failed: the peer hung up after our challenge (does it hold this cluster's key?)"
        case .session(let error): "protocol error: \(error)"
        case .refusedByPeer(let reason): "the peer refused us: \(reason)"
        case .refused(let reason): "refused: \(reason)"
        case .closed: "the peer closed the connection"
        case .timedOut: "the peer stopped answering"
        case .unexpected(let what): "unexpected \(what)"
        }
    }
}

/// One gossip TCP connection: frames in and out over a socket, with a deadline per message.
/// Used by one thread. The socket's owner closes it.
final class GossipConnection {
    let socket: TCPConnection
    private var codec: FrameCodec
    let timeoutMilliseconds: Int32
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    /// The protocol version the handshake agreed.
    private(set) var version = FrameCodec.handshakeVersion

    init(socket: TCPConnection, role: Handshake.Role, timeoutMilliseconds: Int32) {
        self.socket = socket
        codec = FrameCodec(role: role)
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    func send(_ message: GossipMessage) throws {
        let frame = codec.encode(message)
        bytesSent += frame.count
        try socket.write(frame)
    }

    func receive() throws -> GossipMessage {
        while true {
            do {
                if let message = try codec.next() { return message }
            } catch {
                throw GossipConnectionError.frame(error)
            }
            guard let bytes = try socket.read(waitingAtMost: timeoutMilliseconds) else { throw GossipConnectionError.timedOut }
            if bytes.isEmpty { throw GossipConnectionError.closed }
            bytesReceived += bytes.count
            codec.append(bytes)
        }
    }

    /// Runs the handshake; afterwards every frame is authenticated with the session key.
    func authenticate(role: Handshake.Role, key: ClusterKey) throws {
        var handshake = Handshake(role: role, key: key, nonce: SecureRandom.bytes(Handshake.nonceLength))
        do {
            if role == .initiator {
                try send(handshake.hello())
                let answer = try receive()
                if case .refused(let reason) = answer { throw GossipConnectionError.refusedByPeer(reason) }
                guard let proof = try handshake.receive(answer) else { throw GossipConnectionError.unexpected("handshake end") }
                try send(proof)
            } else {
                let challenge: GossipMessage?
                do {
                    challenge = try handshake.receive(try receive())
                } catch let failure as Handshake.Failure {
                    // Tell the peer why before hanging up: it logs the reason on its side too.
                    if case .noCommonVersion = failure { try? send(.refused(reason: GossipConnectionError.handshake(failure).description)) }
                    throw failure
                }
                guard let challenge else { throw GossipConnectionError.unexpected("handshake end") }
                try send(challenge)
                let proof: GossipMessage
                do {
                    proof = try receive()
                } catch GossipConnectionError.closed {
                    throw GossipConnectionError.handshakeAbandoned
                }
                _ = try handshake.receive(proof)
            }
        } catch let failure as Handshake.Failure {
            throw GossipConnectionError.handshake(failure)
        }
        guard let sessionKey = handshake.sessionKey, let version = handshake.version else {
            throw GossipConnectionError.unexpected("handshake end")
        }
        self.version = version
        codec.use(version: version)
        codec.authenticate(with: sessionKey)
    }
}
