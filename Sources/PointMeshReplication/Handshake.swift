import PointMeshCore
import PointMeshCrypto

/// The cluster's shared secret. Every node holds the same one (`--cluster-key-file`).
public struct ClusterKey: Sendable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The key nodes use when started without a key file. It authenticates nothing, so such a
    /// node gossips only over loopback.
    public static let loopbackOnly = ClusterKey(bytes: Array("pointmesh-loopback-only-cluster".utf8))
}

/// The gossip protocol versions a node speaks. Two nodes speak the highest both know; a
/// release that changes the protocol widens its range so it still talks to the one before.
public struct ProtocolVersions: Hashable, Sendable, CustomStringConvertible {
    public var lowest: UInt8
    public var highest: UInt8

    public init(_ lowest: UInt8, _ highest: UInt8) {
        self.lowest = lowest
        self.highest = highest
    }

    /// What this release speaks. Version 7 carries what each member holds with its record
    /// (`reported_members`), from which nodes tell the chain's stable horizon. Version 6 keeps a settled chain's rounds small whatever its
    /// size (`brief_summary`, members sent as changes, an exchange with nothing to ask left
    /// out); version 5 sends entries with their origins' seals
    /// (`sealed_entries`); version 4 keeps a connection open after a session, for the
    /// next ones the same initiator starts; version 3 opens each session with the exchanges
    /// each side speaks (`GossipSession`); version 2 (releases 0.3 to 0.6) runs replication
    /// alone. Version 1 (pointmesh 0.2) had no negotiation and another entry format; it is
    /// refused at the first frame (docs/operations.md, "Upgrading a chain").
    public static let supported = ProtocolVersions(2, 7)

    /// The first version whose nodes `introduce` themselves with the exchanges they speak
    /// (version 2's `identify` names none: replication alone).
    public static let introducing: UInt8 = 3

    /// The first version in which sessions follow one another on one connection: the
    /// responder waits for the initiator's next session instead of closing.
    public static let persistent: UInt8 = 4

    /// The first version whose replication sends entries with their seals (`SealedEntries`).
    public static let sealing: UInt8 = 5

    /// The first version whose replication opens with one digest (`brief_summary`), sends the
    /// vector apart from the members and only the members the peer lacks (`vector`, `members`),
    /// and whose sessions leave out an exchange the initiator has nothing to ask in
    /// (`GossipExchangeName.mayBeLeftOut`).
    public static let compact: UInt8 = 6

    /// The first version whose member records carry what each member holds
    /// (`reported_members`, `HoldingsReport`), and whose membership digest covers it.
    public static let reporting: UInt8 = 7

    /// The highest version both ranges hold, if any.
    public func common(with other: ProtocolVersions) -> UInt8? {
        let highest = min(highest, other.highest)
        return highest >= max(lowest, other.lowest) ? highest : nil
    }

    public var description: String { lowest == highest ? "\(lowest)" : "\(lowest)–\(highest)" }
}

/// Mutual challenge–response authentication over the cluster key, with the protocol version
/// agreed on the way, as a pure state machine.
///
///     initiator → hello(nonceI, range)
///     responder → challenge(nonceR, version, HMAC(key, "pointmesh-responder" ‖ nonceI ‖ nonceR ‖ range ‖ version))
///     initiator → proof(HMAC(key, "pointmesh-initiator" ‖ nonceI ‖ nonceR ‖ range ‖ version))
///
/// Each side proves it holds the key without sending it; the fresh nonces make a recorded
/// exchange useless to replay, and the MACs cover the versions, so nobody in between can
/// talk the two down to an older version. Both then derive the session key
/// HMAC(key, "pointmesh-session" ‖ nonceI ‖ nonceR) that authenticates every later frame.
public struct Handshake: Sendable {
    public static let nonceLength = 32

    public enum Role: Sendable { case initiator, responder }

    public enum Failure: Error, Equatable, Sendable {
        /// The peer's MAC did not verify: it does not hold the cluster key.
        case badProof
        /// A message arrived that the handshake does not expect at this point.
        case unexpected(String)
        /// The two nodes share no protocol version: one of them must be upgraded.
        case noCommonVersion(ours: ProtocolVersions, theirs: ProtocolVersions)
    }

    public let role: Role
    private let key: ClusterKey
    private let ownNonce: [UInt8]
    private var peerNonce: [UInt8]?
    public private(set) var sessionKey: [UInt8]?
    private let versions: ProtocolVersions
    /// The protocol version both sides speak, once agreed.
    public private(set) var version: UInt8?

    /// `nonce` must be fresh random bytes (`SecureRandom.bytes`); tests pass fixed ones.
    public init(role: Role, key: ClusterKey, nonce: [UInt8], versions: ProtocolVersions = .supported) {
        self.role = role
        self.key = key
        self.ownNonce = nonce
        self.versions = versions
    }

    /// The initiator's first message.
    public func hello() -> GossipMessage { .hello(nonce: ownNonce, versions: versions) }

    /// Handles a handshake message; returns the reply, if any. `sessionKey` is set once the
    /// peer is proven.
    public mutating func receive(_ message: GossipMessage) throws(Failure) -> GossipMessage? {
        switch (role, message, peerNonce) {
        case (.responder, .hello(let nonce, let theirs), nil):
            guard let chosen = versions.common(with: theirs) else { throw .noCommonVersion(ours: versions, theirs: theirs) }
            peerNonce = nonce
            peerVersions = theirs
            version = chosen
            return .challenge(nonce: ownNonce, version: chosen,
                              mac: mac("pointmesh-responder", initiator: nonce, responder: ownNonce, versions: theirs, chosen: chosen))
        case (.initiator, .challenge(let nonce, let chosen, let proof), nil):
            guard HMACSHA256.equal(proof, mac("pointmesh-responder", initiator: ownNonce, responder: nonce, versions: versions, chosen: chosen)) else {
                throw .badProof
            }
            guard chosen >= versions.lowest, chosen <= versions.highest else {
                throw .noCommonVersion(ours: versions, theirs: ProtocolVersions(chosen, chosen))
            }
            peerNonce = nonce
            version = chosen
            sessionKey = mac("pointmesh-session", initiator: ownNonce, responder: nonce)
            return .proof(mac: mac("pointmesh-initiator", initiator: ownNonce, responder: nonce, versions: versions, chosen: chosen))
        case (.responder, .proof(let proof), .some(let nonce)) where sessionKey == nil:
            guard let theirs = peerVersions, let chosen = version,
                  HMACSHA256.equal(proof, mac("pointmesh-initiator", initiator: nonce, responder: ownNonce, versions: theirs, chosen: chosen))
            else { throw .badProof }
            sessionKey = mac("pointmesh-session", initiator: nonce, responder: ownNonce)
            return nil
        default:
            throw .unexpected(message.name)
        }
    }

    private var peerVersions: ProtocolVersions?

    private func mac(_ label: String, initiator: [UInt8], responder: [UInt8], versions: ProtocolVersions, chosen: UInt8) -> [UInt8] {
        HMACSHA256.mac(key: key.bytes, Array(label.utf8), initiator, responder, [versions.lowest, versions.highest, chosen])
    }

    private func mac(_ label: String, initiator: [UInt8], responder: [UInt8]) -> [UInt8] {
        HMACSHA256.mac(key: key.bytes, Array(label.utf8), initiator, responder)
    }
}
