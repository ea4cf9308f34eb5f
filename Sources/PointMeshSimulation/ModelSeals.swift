import PointMeshCore
import PointMeshCrypto

/// The simulation's model of node certificates and seals (`EntrySeal`): what libcrypto and the
/// chain's authority give real nodes, with the one property the rules rely on kept: only the
/// node a certificate names can make a seal that verifies under it. A certificate is the node
/// id with the authority's MAC over it; a node's signature is a MAC under a key derived from
/// the authority's secret and its id, which the model hands to that node's `Sealer` alone.
public enum ModelSeals {
    private static let authoritySecret = Array("the simulated chain's authority".utf8)

    /// The node id and its role (empty: none named), each after its length, then the MAC.
    static func certificate(of node: NodeID, role: NodeRole?) -> [UInt8] {
        let id = Array(node.rawValue.utf8), named = Array((role?.rawValue ?? "").utf8)
        let body = [UInt8(id.count)] + id + [UInt8(named.count)] + named
        return body + HMACSHA256.mac(key: authoritySecret, body)
    }

    private static func key(of node: NodeID) -> [UInt8] {
        HMACSHA256.mac(key: authoritySecret, Array("node key \(node.rawValue)".utf8))
    }

    /// Node `node`'s key, with a certificate naming `role` (none by default).
    public struct Sealer: EntrySealer {
        public let node: NodeID
        public let role: NodeRole?
        public init(node: NodeID, role: NodeRole? = nil) {
            self.node = node
            self.role = role
        }
        public var certificate: [UInt8] { ModelSeals.certificate(of: node, role: role) }
        public func seal(_ message: [UInt8]) -> EntrySeal {
            EntrySeal(certificate: CertificateFingerprint.of(certificate: certificate), signature: HMACSHA256.mac(key: ModelSeals.key(of: node), message))
        }
    }

    /// The chain's authority, as every honest node knows it.
    public struct Verifier: SealVerifier {
        public init() {}

        public func certifiedOrigin(of certificate: [UInt8]) -> CertifiedOrigin? {
            guard let length = certificate.first.map(Int.init), certificate.count >= 2 + length + HMACSHA256.length,
                  let node = try? NodeID(validating: String(decoding: certificate[1...length], as: UTF8.self)) else { return nil }
            let roleLength = Int(certificate[1 + length])
            guard certificate.count == 2 + length + roleLength + HMACSHA256.length else { return nil }
            let named = String(decoding: certificate[(2 + length)..<(2 + length + roleLength)], as: UTF8.self)
            let role = NodeRole(rawValue: named)
            guard ModelSeals.certificate(of: node, role: role) == certificate else { return nil }
            return CertifiedOrigin(node: node, role: role)
        }

        public func verifies(_ seal: EntrySeal, over message: [UInt8], certificate: [UInt8]) -> Bool {
            guard let node = certifiedOrigin(of: certificate)?.node else { return false }
            return seal.signature == HMACSHA256.mac(key: ModelSeals.key(of: node), message)
        }
    }
}
