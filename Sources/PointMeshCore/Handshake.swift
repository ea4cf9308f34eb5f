/// The cluster's shared secret. Every node holds the same one (`--cluster-key-file`).
public struct ClusterKey: Sendable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The key nodes use when started without a key file. It authenticates nothing, so such a
    /// node gossips only over loopback.
    public static let loopbackOnly = ClusterKey(bytes: Array("pointmesh-loopback-only-cluster".utf8))
}

/// Mutual challenge–response authentication over the cluster key, as a pure state machine.
///
///     initiator → hello(nonceI)
///     responder → challenge(nonceR, HMAC(key, "pointmesh-responder" ‖ nonceI ‖ nonceR))
///     initiator → proof(HMAC(key, "pointmesh-initiator" ‖ nonceI ‖ nonceR))
///
/// Each side proves it holds the key without sending it; the fresh nonces make a recorded
/// exchange useless to replay. Both then derive the session key
/// HMAC(key, "pointmesh-session" ‖ nonceI ‖ nonceR) that authenticates every later frame.
public struct Handshake: Sendable {
    public static let nonceLength = 32

    public enum Role: Sendable { case initiator, responder }

    public enum Failure: Error, Equatable, Sendable {
        /// The peer's MAC did not verify: it does not hold the cluster key.
        case badProof
        /// A message arrived that the handshake does not expect at this point.
        case unexpected(String)
    }

    public let role: Role
    private let key: ClusterKey
    private let ownNonce: [UInt8]
    private var peerNonce: [UInt8]?
    public private(set) var sessionKey: [UInt8]?

    /// `nonce` must be fresh random bytes (`SecureRandom.bytes`); tests pass fixed ones.
    public init(role: Role, key: ClusterKey, nonce: [UInt8]) {
        self.role = role
        self.key = key
        self.ownNonce = nonce
    }

    /// The initiator's first message.
    public func hello() -> GossipMessage { .hello(nonce: ownNonce) }

    /// Handles a handshake message; returns the reply, if any. `sessionKey` is set once the
    /// peer is proven.
    public mutating func receive(_ message: GossipMessage) throws(Failure) -> GossipMessage? {
        switch (role, message, peerNonce) {
        case (.responder, .hello(let nonce), nil):
            peerNonce = nonce
            return .challenge(nonce: ownNonce, mac: mac("pointmesh-responder", initiator: nonce, responder: ownNonce))
        case (.initiator, .challenge(let nonce, let proof), nil):
            guard HMACSHA256.equal(proof, mac("pointmesh-responder", initiator: ownNonce, responder: nonce)) else { throw .badProof }
            peerNonce = nonce
            sessionKey = mac("pointmesh-session", initiator: ownNonce, responder: nonce)
            return .proof(mac: mac("pointmesh-initiator", initiator: ownNonce, responder: nonce))
        case (.responder, .proof(let proof), .some(let nonce)) where sessionKey == nil:
            guard HMACSHA256.equal(proof, mac("pointmesh-initiator", initiator: nonce, responder: ownNonce)) else { throw .badProof }
            sessionKey = mac("pointmesh-session", initiator: nonce, responder: ownNonce)
            return nil
        default:
            throw .unexpected(message.name)
        }
    }

    private func mac(_ label: String, initiator: [UInt8], responder: [UInt8]) -> [UInt8] {
        HMACSHA256.mac(key: key.bytes, Array(label.utf8), initiator, responder)
    }
}
