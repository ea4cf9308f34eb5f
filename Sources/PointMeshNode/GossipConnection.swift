import PointMeshCore
import PointMeshCrypto
import PointMeshHTTP
import PointMeshReplication
import PointMeshTLS

/// Why a gossip connection ended early. Each is logged and the connection closed.
enum GossipConnectionError: Error, CustomStringConvertible {
    case tls(TLSError)
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
        case .tls(.plainPeer):
            "the peer speaks unencrypted gossip (a node of a release before 0.8, or not a node at all) and this node speaks TLS only: upgrade the peer, "
                + "or start this node with --accept-unencrypted-gossip while the chain upgrades (docs/operations.md, \"Upgrading a chain\")"
        case .tls(let error): "\(error)"
        case .frame(.tooLarge(let size)): "frame of \(size) bytes exceeds the limit"
        case .frame(.unsupportedVersion(1)):
            "the peer speaks gossip protocol 1 (pointmesh 0.2 or older); this node speaks \(ProtocolVersions.supported): "
                + "upgrade the peer (docs/operations.md, \"Upgrading a chain\")"
        case .frame(.unsupportedVersion(let version)): "unknown protocol version \(version)"
        case .frame(.badMAC): "frame failed authentication"
        case .frame(.malformed(let why)): "malformed frame (\(why))"
        case .handshake(.badProof): "authentication failed: the peer's gossip handshake does not match this TLS session"
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

extension GossipConnectionError {
    /// A TLS failure as the gossip edge handles it: an end or a silence like any other, the
    /// rest a refusal.
    init(_ error: TLSError) {
        switch error {
        case .closed: self = .closed
        case .timedOut: self = .timedOut
        default: self = .tls(error)
        }
    }
}

/// One gossip connection: frames in and out over TLS on a socket, with a deadline per
/// message. Used by one thread at a time: a kept connection passes between threads only
/// through `GossipService`'s pool, under its lock. The socket's owner closes it.
final class GossipConnection: @unchecked Sendable {
    let socket: TCPConnection
    private var codec: FrameCodec
    let timeoutMilliseconds: Int32
    /// What the frames travel in, set by `authenticate`: nothing crosses the socket before.
    private var transport: Transport?
    /// The protocol version the handshake agreed.
    private(set) var version = FrameCodec.handshakeVersion

    private enum Transport {
        case tls(TLSChannel)
        /// Frames straight on the socket, as releases before 0.8 speak them, and only under
        /// `--accept-unencrypted-gossip`.
        case unencrypted
    }

    private var unencryptedSent = 0, unencryptedReceived = 0

    /// When it was opened (monotonic ms): a kept connection's lifetime counts from here.
    let openedAt: Int64

    init(socket: TCPConnection, role: Handshake.Role, timeoutMilliseconds: Int32, openedAt: Int64) {
        self.socket = socket
        codec = FrameCodec(role: role)
        self.timeoutMilliseconds = timeoutMilliseconds
        self.openedAt = openedAt
    }

    /// Bytes on the wire each way, TLS records and handshakes included.
    var bytesSent: Int {
        if case .tls(let channel) = transport { return channel.bytesWritten }
        return unencryptedSent
    }

    var bytesReceived: Int {
        if case .tls(let channel) = transport { return channel.bytesRead }
        return unencryptedReceived
    }

    /// What the peer's certificate says, when it proved itself with one (nil: with the cluster key).
    var peerCertificate: NodeCertificateFacts? {
        if case .tls(let channel) = transport { return channel.peer }
        return nil
    }

    /// Whether this session's frames cross unencrypted (a peer of a release before 0.8).
    var isUnencrypted: Bool {
        if case .unencrypted = transport { return true }
        return false
    }

    func send(_ message: GossipMessage) throws {
        let frame = codec.encode(message)
        do {
            switch transport {
            case .tls(let channel): try channel.write(frame)
            case .unencrypted:
                unencryptedSent += frame.count
                try socket.write(frame)
            case nil: throw GossipConnectionError.unexpected("frame before the TLS handshake")
            }
        } catch let error as TLSError {
            throw GossipConnectionError(error)
        }
    }

    func receive() throws -> GossipMessage {
        while true {
            do {
                if let message = try codec.next() { return message }
            } catch {
                throw GossipConnectionError.frame(error)
            }
            guard let bytes = try read(waitingAtMost: timeoutMilliseconds) else { throw GossipConnectionError.timedOut }
            if bytes.isEmpty { throw GossipConnectionError.closed }
            codec.append(bytes)
        }
    }

    /// Between sessions on a kept connection: waits up to `milliseconds` for the next one to
    /// begin. True when bytes of it arrived (they stay for `receive`); false when the peer
    /// closed or stayed silent.
    func awaitNextSession(waitingAtMost milliseconds: Int32) throws -> Bool {
        if codec.buffered > 0 { return true }
        let bytes: [UInt8]?
        do {
            bytes = try read(waitingAtMost: milliseconds)
        } catch GossipConnectionError.closed {
            return false
        } catch GossipConnectionError.timedOut {
            return false
        }
        guard let bytes, !bytes.isEmpty else { return false }
        codec.append(bytes)
        return true
    }

    /// What the transport has, waiting up to `milliseconds`: nil on timeout, empty when closed.
    private func read(waitingAtMost milliseconds: Int32) throws -> [UInt8]? {
        do {
            switch transport {
            case .tls(let channel):
                return try channel.read(waitingAtMost: milliseconds)
            case .unencrypted:
                let bytes = try socket.read(waitingAtMost: milliseconds)
                unencryptedReceived += bytes?.count ?? 0
                return bytes
            case nil:
                throw GossipConnectionError.unexpected("frame before the TLS handshake")
            }
        } catch let error as TLSError {
            throw GossipConnectionError(error)
        }
    }

    /// Whether the agreed version keeps the connection for further sessions. An unencrypted
    /// one (an upgrade's) never is: it carries one session and closes.
    var isPersistent: Bool { version >= ProtocolVersions.persistent && !isUnencrypted }

    /// Wire bytes each way since the last call: what a kept connection adds to the node's
    /// counters session by session.
    func trafficSinceLastCount() -> (sent: Int, received: Int) {
        defer { (countedSent, countedReceived) = (bytesSent, bytesReceived) }
        return (bytesSent - countedSent, bytesReceived - countedReceived)
    }

    private var countedSent = 0, countedReceived = 0

    /// Runs the TLS handshake (`tls` says with what each side proves itself), then the gossip
    /// handshake inside it, which agrees the protocol version. Its key is exported from the TLS
    /// session, so it binds the frames to this session; afterwards every frame carries a MAC.
    ///
    /// With `unencryptedKey` (`--accept-unencrypted-gossip`), a responder whose peer opens with
    /// an unencrypted frame (a node of a release before 0.8) runs the gossip handshake on the
    /// socket itself, over the cluster key, as those releases do.
    func authenticate(role: Handshake.Role, tls: TLSContext, unencryptedKey: ClusterKey? = nil) throws {
        let key: ClusterKey
        do {
            let channel = try TLSChannel(context: tls, fd: socket.fd, role: role == .initiator ? .client : .server,
                                         timeoutMilliseconds: timeoutMilliseconds)
            transport = .tls(channel)
            key = ClusterKey(bytes: channel.exportedKey(label: "EXPORTER-pointmesh-gossip-frames"))
        } catch TLSError.plainPeer {
            guard role == .responder, let unencryptedKey else { throw GossipConnectionError.tls(.plainPeer) }
            transport = .unencrypted
            key = unencryptedKey
        } catch {
            throw GossipConnectionError(error)
        }
        try handshake(role: role, key: key)
    }

    /// Opens an unencrypted session as initiator, as releases before 0.8 do: after a peer of
    /// one hung up on this node's TLS hello, under `--accept-unencrypted-gossip`.
    func authenticateUnencrypted(key: ClusterKey) throws {
        transport = .unencrypted
        try handshake(role: .initiator, key: key)
    }

    /// The gossip handshake under `key`: the version agreed, and the session key every later
    /// frame's MAC is made with.
    private func handshake(role: Handshake.Role, key: ClusterKey) throws {
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
