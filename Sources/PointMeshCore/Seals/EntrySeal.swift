import PointMeshCrypto

/// SHA-256 of a certificate's DER bytes: how a seal names the key that made it.
public struct CertificateFingerprint: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let length = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    public static func of(certificate: [UInt8]) -> CertificateFingerprint {
        CertificateFingerprint(unchecked: SHA256Digest.bytes(of: certificate))
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public static func < (lhs: CertificateFingerprint, rhs: CertificateFingerprint) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
    public var description: String { String(SHA256Digest.hex(bytes).prefix(16)) }
}

/// An origin's signature over its hash chain at one of its entries (`OriginChain`). The chain
/// covers the bytes of that entry and of every entry of the origin before it, so one seal
/// vouches for the whole run up to it: a node sealing the last of its entries in each group
/// commit makes every entry it writes verifiable with one signature check per run, and a
/// relaying node can neither forge an origin's entries nor alter one without the seal failing.
public struct EntrySeal: Hashable, Sendable {
    /// The certificate whose key made the signature.
    public var certificate: CertificateFingerprint
    /// DER-encoded ECDSA signature (or the simulation's model of one).
    public var signature: [UInt8]

    public static let maximumSignatureBytes = 256

    public init(certificate: CertificateFingerprint, signature: [UInt8]) {
        self.certificate = certificate
        self.signature = signature
    }

    /// The fingerprint, then the signature: how a seal is stored and sent.
    public var encoded: [UInt8] { certificate.bytes + signature }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count > CertificateFingerprint.length, bytes.count <= CertificateFingerprint.length + Self.maximumSignatureBytes,
              let fingerprint = CertificateFingerprint(bytes: Array(bytes.prefix(CertificateFingerprint.length)))
        else { throw .invalid("seal of \(bytes.count) bytes") }
        certificate = fingerprint
        signature = Array(bytes.dropFirst(CertificateFingerprint.length))
    }

    /// What an origin signs to seal its entry `chain.sequence`: a label that keeps these
    /// signatures apart from anything else the key signs, the origin, and its chain there.
    public static func message(origin: NodeID, chain: OriginChain) -> [UInt8] {
        var writer = BinaryWriter()
        writer.string("pointmesh entry seal 1")
        writer.string(origin.rawValue)
        writer.i64(chain.sequence)
        writer.raw(chain.hash)
        return writer.bytes
    }

    /// Which of an origin's entries its node seals when it writes them: the last of each group
    /// commit (`isLastOfCommit`), and every `interval`th, so that any run of `interval` entries a
    /// peer receives holds one and a receiver never waits long for the seal of what it holds.
    public static let interval: Int64 = 256

    public static func isSealed(sequence: Int64, isLastOfCommit: Bool) -> Bool {
        isLastOfCommit || sequence % interval == 0
    }
}

/// Entries on their way between nodes, with the seals on some of them and the certificates
/// those seals name (so a receiver that never met an origin can check its seals).
public struct SealedEntries: Hashable, Sendable {
    public var entries: [LedgerEntry]
    public var seals: [EntryID: EntrySeal]
    public var certificates: [CertificateFingerprint: [UInt8]]

    public init(_ entries: [LedgerEntry] = [], seals: [EntryID: EntrySeal] = [:], certificates: [CertificateFingerprint: [UInt8]] = [:]) {
        self.entries = entries
        self.seals = seals
        self.certificates = certificates
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// `other`'s entries after these, with its seals and certificates.
    public mutating func append(_ other: SealedEntries) {
        entries += other.entries
        seals.merge(other.seals) { first, _ in first }
        certificates.merge(other.certificates) { first, _ in first }
    }

    /// `entries` with the seals on them (`seal`) and the certificates those seals name.
    public static func gathering(_ entries: [LedgerEntry], seal: (EntryID) throws -> EntrySeal?,
                                 certificate: (CertificateFingerprint) throws -> [UInt8]?) rethrows -> SealedEntries {
        var sealed = SealedEntries(entries)
        for entry in entries { if let found = try seal(entry.id) { sealed.seals[entry.id] = found } }
        for fingerprint in Set(sealed.seals.values.map(\.certificate)) { sealed.certificates[fingerprint] = try certificate(fingerprint) }
        return sealed
    }

    /// The first `count` entries, with their seals and the certificates those name.
    public func prefix(_ count: Int) -> SealedEntries {
        let kept = Array(entries.prefix(count))
        var seals: [EntryID: EntrySeal] = [:]
        for entry in kept { if let seal = self.seals[entry.id] { seals[entry.id] = seal } }
        let named = Set(seals.values.map(\.certificate))
        return SealedEntries(kept, seals: seals, certificates: certificates.filter { named.contains($0.key) })
    }
}

/// What a certificate of the chain's authority says of the node holding its key.
public struct CertifiedOrigin: Hashable, Sendable {
    public var node: NodeID
    /// Nil when the certificate names a role this release does not know.
    public var role: NodeRole?

    public init(node: NodeID, role: NodeRole?) {
        self.node = node
        self.role = role
    }
}

/// Checks seals against the chain's authority: libcrypto at the node's edge, a model in the
/// simulation.
public protocol SealVerifier: Sendable {
    /// The node a certificate names, if the chain's authority issued it. Validity dates don't
    /// count: a seal made while its certificate was valid stays good for as long as the entries
    /// it covers replicate.
    func certifiedOrigin(of certificate: [UInt8]) -> CertifiedOrigin?
    /// Whether `seal` is a signature over `message` made with the key of `certificate`.
    func verifies(_ seal: EntrySeal, over message: [UInt8], certificate: [UInt8]) -> Bool
}

/// Seals this node's own entries with its key: libcrypto at the node's edge, a model in the
/// simulation.
public protocol EntrySealer: Sendable {
    /// The DER certificate of the key that seals.
    var certificate: [UInt8] { get }
    func seal(_ message: [UInt8]) throws -> EntrySeal
}

/// How a node takes the entries peers send it.
public struct SealPolicy: Sendable {
    /// Whose entries must be covered by a seal that verifies before they are applied (unless
    /// they come from their origin itself).
    public enum Requirement: Sendable {
        /// Every origin's: a node on certificates alone, in a chain where every node seals.
        case everyOrigin
        /// Those of origins that have shown a certificate (a seal that verified, here or
        /// before); the others are taken on the word of the peer that sent them (the cluster
        /// key's trust), as in a chain moving from the key to certificates.
        case certifiedOrigins
    }

    /// Checks seals; nil on a node without the chain's authority (a chain on the cluster key),
    /// which keeps and passes on the seals it receives without checking them.
    public var verifier: (any SealVerifier)?
    public var requirement: Requirement

    public init(verifier: (any SealVerifier)?, requirement: Requirement) {
        self.verifier = verifier
        self.requirement = requirement
    }

    /// A node without the chain's authority.
    public static let unchecked = SealPolicy(verifier: nil, requirement: .certifiedOrigins)

    /// The origins that have shown a certificate, among `certificates` (DER) a node holds: the
    /// nodes the chain's authority certified in them. None without the authority.
    public func certifiedOrigins(among certificates: some Sequence<[UInt8]>) -> Set<NodeID> {
        guard let verifier else { return [] }
        return Set(certificates.compactMap { verifier.certifiedOrigin(of: $0)?.node })
    }
}

/// Why received entries of an origin were refused: each means a node altered or forged them.
public enum SealRefusal: Hashable, Sendable, CustomStringConvertible {
    /// The seal names a certificate that came neither with it nor before.
    case unknownCertificate(EntryID)
    /// The seal's certificate is not the chain's authority's.
    case foreignCertificate(EntryID)
    /// The seal's certificate is another node's.
    case certificateOfAnotherNode(EntryID, certified: NodeID)
    /// The signature does not match the entries: one of them, or the seal, was altered.
    case badSignature(EntryID)
    /// A sealed entry of a kind its origin's certificate says it may not originate (a store's
    /// campaign, say): the origin's own node wrote what its role may not.
    case outOfRole(EntryID, role: NodeRole)

    public var entry: EntryID {
        switch self {
        case .unknownCertificate(let id), .foreignCertificate(let id), .certificateOfAnotherNode(let id, _), .badSignature(let id), .outOfRole(let id, _): id
        }
    }

    /// A short name for logs and metrics.
    public var reason: String {
        switch self {
        case .unknownCertificate: "unknown_certificate"
        case .foreignCertificate: "foreign_certificate"
        case .certificateOfAnotherNode: "certificate_of_another_node"
        case .badSignature: "bad_signature"
        case .outOfRole: "out_of_role"
        }
    }

    public var description: String {
        switch self {
        case .unknownCertificate(let id): "the seal on \(id) names a certificate that came with nothing"
        case .foreignCertificate(let id): "the seal on \(id) is by a certificate the chain's authority did not issue"
        case .certificateOfAnotherNode(let id, let node): "the seal on \(id) is by \(node)'s certificate, not its origin's"
        case .badSignature(let id): "the seal on \(id) does not match the entries up to it: altered or forged"
        case .outOfRole(let id, let role): "\(id) is of a kind a \(role.rawValue) node may not originate, and its origin's certificate says \(role.rawValue)"
        }
    }
}

/// The seal rule, pure: how much of a received run of one origin's entries a node may apply.
public enum SealCheck {
    public struct Verdict: Equatable, Sendable {
        /// How many entries of the run, from its start, may be applied.
        public var accepted: Int
        /// Why the rest was refused; nil when it is only waiting for a seal (it comes again).
        public var refusal: SealRefusal?
    }

    /// `run`: entries of `origin` from `held.sequence + 1` on, without gaps, as admission leaves
    /// them. `sender`: the peer they came from, as the handshake proved it: an origin's own
    /// entries come straight from it over a channel that proved who it is. `certified`: whether
    /// the origin has shown a certificate before.
    ///
    /// Each seal in the run is checked against the chain recomputed over the entries' bytes; the
    /// first that fails refuses the run from there (what a good seal before it covers stands).
    /// Entries after the last good seal wait for one when the policy requires the origin's to be
    /// sealed (`SealPolicy.Requirement`), unless they come from their origin itself.
    public static func check(_ run: [LedgerEntry], origin: NodeID, held: OriginChain, seals: [EntryID: EntrySeal],
                             certificate: (CertificateFingerprint) -> [UInt8]?, policy: SealPolicy, sender: NodeID?, certified: Bool) -> Verdict {
        guard let verifier = policy.verifier, !run.isEmpty else { return Verdict(accepted: run.count) }
        var chain = held, covered = 0
        for (index, entry) in run.enumerated() {
            chain = chain.extended(sequence: entry.id.sequence, bytes: EntryCoding.encode(entry))
            guard let seal = seals[entry.id] else { continue }
            let refusal: SealRefusal?
            if let der = certificate(seal.certificate) {
                if let certified = verifier.certifiedOrigin(of: der) {
                    if certified.node != origin {
                        refusal = .certificateOfAnotherNode(entry.id, certified: certified.node)
                    } else if !verifier.verifies(seal, over: EntrySeal.message(origin: origin, chain: chain), certificate: der) {
                        refusal = .badSignature(entry.id)
                    } else if let role = certified.role,
                              let stray = run[covered...index].firstIndex(where: { !EntryKinds.mayOriginate($0.code, as: role) }) {
                        // Authentic, and out of the role the origin's certificate gives it.
                        return Verdict(accepted: stray, refusal: .outOfRole(run[stray].id, role: role))
                    } else {
                        refusal = nil
                    }
                } else {
                    refusal = .foreignCertificate(entry.id)
                }
            } else {
                refusal = .unknownCertificate(entry.id)
            }
            if let refusal { return Verdict(accepted: covered, refusal: refusal) }
            covered = index + 1
        }
        let sealRequired = policy.requirement == .everyOrigin || certified || covered > 0
        return Verdict(accepted: sealRequired && sender != origin ? covered : run.count)
    }
}

extension SealCheck.Verdict {
    init(accepted: Int) {
        self.init(accepted: accepted, refusal: nil)
    }
}

/// What a node takes of a received batch, under its seal policy (`SealCheck.admit`).
public struct SealAdmission: Equatable, Sendable {
    /// The entries to apply, in the batch's order: each the next of its origin, covered.
    public var entries: [LedgerEntry] = []
    /// The seals on those entries, to keep and pass on.
    public var seals: [EntryID: EntrySeal] = [:]
    /// Origins whose seals verified in the batch: they have shown a certificate.
    public var certified: Set<NodeID> = []
    /// Entries that wait for a seal in a later batch, with the seals and certificates they came with.
    public var awaitingSeal = SealedEntries()
    public var refusals: [SealRefusal] = []
}

extension SealCheck {
    /// Admits `batch`: per origin, the entries after `held(origin)`'s last without a gap, as far
    /// as their seals allow (`check`); `certified` says which origins have shown a certificate.
    public static func admit(_ batch: SealedEntries, held: (NodeID) throws -> OriginChain, certificate: (CertificateFingerprint) -> [UInt8]?,
                             policy: SealPolicy, sender: NodeID?, certified: (NodeID) -> Bool) rethrows -> SealAdmission {
        var runs: [NodeID: [LedgerEntry]] = [:], order: [NodeID] = []
        var next: [NodeID: Int64] = [:]
        for entry in batch.entries {
            let origin = entry.id.origin
            if next[origin] == nil {
                next[origin] = try held(origin).sequence + 1
                order.append(origin)
            }
            guard entry.id.sequence == next[origin] else { continue }
            runs[origin, default: []].append(entry)
            next[origin] = entry.id.sequence + 1
        }
        var admission = SealAdmission(), accepted: Set<EntryID> = []
        for origin in order {
            guard let run = runs[origin] else { continue }
            let verdict = check(run, origin: origin, held: try held(origin), seals: batch.seals, certificate: certificate, policy: policy,
                                sender: sender, certified: certified(origin))
            for entry in run.prefix(verdict.accepted) { accepted.insert(entry.id) }
            if run.prefix(verdict.accepted).contains(where: { batch.seals[$0.id] != nil }), policy.verifier != nil { admission.certified.insert(origin) }
            if let refusal = verdict.refusal {
                admission.refusals.append(refusal)
            } else if verdict.accepted < run.count {
                admission.awaitingSeal.append(SealedEntries(Array(run.dropFirst(verdict.accepted)), seals: batch.seals, certificates: batch.certificates))
            }
        }
        admission.entries = batch.entries.filter { accepted.contains($0.id) }
        for entry in admission.entries { if let seal = batch.seals[entry.id] { admission.seals[entry.id] = seal } }
        admission.awaitingSeal = admission.awaitingSeal.prefix(admission.awaitingSeal.entries.count)
        return admission
    }
}

/// What applying a received batch did (`ReplicaStore.apply`).
public struct AppliedEntries: Equatable, Sendable {
    /// Entries newly stored.
    public var stored: Int
    /// Entries that wait for a seal: the replication exchange offers them again with the
    /// origin's next entries.
    public var awaitingSeal: SealedEntries
    /// Entries refused for a seal that failed (altered or forged), logged and counted.
    public var refusals: [SealRefusal]

    public init(stored: Int, awaitingSeal: SealedEntries = SealedEntries(), refusals: [SealRefusal] = []) {
        self.stored = stored
        self.awaitingSeal = awaitingSeal
        self.refusals = refusals
    }
}
