import PointMeshCore
import PointMeshTLS

/// This node's seals (`EntrySeal`), made with its certificate's key.
struct CertificateSealer: EntrySealer {
    let key: NodeSigningKey
    private let fingerprint: CertificateFingerprint

    init(key: NodeSigningKey) {
        self.key = key
        fingerprint = CertificateFingerprint.of(certificate: key.certificate)
    }

    var certificate: [UInt8] { key.certificate }

    func seal(_ message: [UInt8]) throws -> EntrySeal {
        EntrySeal(certificate: fingerprint, signature: try key.sign(message))
    }
}

/// Seals checked against the chain's authority (`--tls-ca`).
struct AuthoritySealVerifier: SealVerifier {
    let authority: AuthorityVerifier

    func certifiedOrigin(of certificate: [UInt8]) -> CertifiedOrigin? {
        guard let facts = authority.facts(of: certificate), let node = try? NodeID(validating: facts.nodeID) else { return nil }
        return CertifiedOrigin(node: node, role: NodeRole(rawValue: facts.role))
    }

    func verifies(_ seal: EntrySeal, over message: [UInt8], certificate: [UInt8]) -> Bool {
        authority.verifies(signature: seal.signature, over: message, certificate: certificate)
    }
}
