extension HoldingsReport {
    /// What `origin` signs to seal its report: a label that keeps these signatures apart from
    /// an entry's seal (`EntrySeal.message`) and anything else the key signs, the origin, and
    /// every field of the report but the seal.
    public func sealMessage(origin: NodeID) -> [UInt8] {
        var writer = BinaryWriter()
        writer.string("pointmesh holdings report 1")
        writer.string(origin.rawValue)
        writer.i64(at.wallMilliseconds)
        writer.i64(at.logical)
        writer.i64(written)
        writer.i64(holdsAllBefore)
        writer.i64(Int64(bitPattern: considered))
        return writer.bytes
    }
}

/// The seal rule for holdings reports, pure: whether a report gossiped in a member's name may
/// stand for that member. A report decides what a node may fold (`Membership.stableHorizon`):
/// a forged one that lowers `written` or raises `holds_all_before` would let entries some node
/// lacks be folded away, so in a chain whose nodes hold certificates a report counts only
/// under its origin's seal, as its entries do (`SealCheck`).
public enum ReportSealCheck {
    public enum Verdict: Equatable, Sendable {
        case admitted
        /// The seal names a certificate this node has not seen yet (the origin's entries or a
        /// session with it bring it): the report is left out until the member reports again.
        case unknownCertificate
        /// Forged, altered or unsealed where a seal is required: never taken.
        case refused(String)
    }

    /// `certificate`: the certificates this node knows, by fingerprint; `certified`: whether
    /// `origin` has shown a certificate (a seal of its that verified).
    public static func check(_ report: HoldingsReport, of origin: NodeID, policy: SealPolicy,
                             certificate: (CertificateFingerprint) throws -> [UInt8]?, certified: (NodeID) throws -> Bool) rethrows -> Verdict {
        guard let verifier = policy.verifier else { return .admitted }
        guard let seal = report.seal else {
            if policy.requirement == .certifiedOrigins, try !certified(origin) { return .admitted }
            return .refused("a report in the name of \(origin) without its seal")
        }
        guard let der = try certificate(seal.certificate) else { return .unknownCertificate }
        guard let certifiedOrigin = verifier.certifiedOrigin(of: der) else {
            return .refused("a report in the name of \(origin) sealed by a certificate the chain's authority did not issue")
        }
        guard certifiedOrigin.node == origin else {
            return .refused("a report in the name of \(origin) sealed by \(certifiedOrigin.node)'s certificate")
        }
        guard verifier.verifies(seal, over: report.sealMessage(origin: origin), certificate: der) else {
            return .refused("a report in the name of \(origin) whose seal does not match it: altered or forged")
        }
        return .admitted
    }
}
