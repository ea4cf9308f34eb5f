import PointMeshCrypto

/// The ledger digest covers the bytes of every entry, not only their ids: per origin, a hash
/// chain over its entries' encoded bytes in sequence order,
/// `chain(n) = SHA-256(chain(n-1) ‖ bytes of entry n)`, from 32 zero bytes. Two nodes' digests
/// are equal exactly when they hold the same entries byte for byte, so a node that altered an
/// entry it could not read (a newer kind) while forwarding it would stand out at once.
public struct OriginChain: Hashable, Sendable {
    /// The last entry the chain covers.
    public var sequence: Int64
    public var hash: [UInt8]

    public init(sequence: Int64, hash: [UInt8]) {
        self.sequence = sequence
        self.hash = hash
    }

    /// The chain before an origin's first entry.
    public static let empty = OriginChain(sequence: 0, hash: [UInt8](repeating: 0, count: 32))

    /// The chain after entry `sequence` with these bytes (the next one, `sequence + 1`).
    public func extended(sequence next: Int64, bytes: [UInt8]) -> OriginChain {
        OriginChain(sequence: next, hash: SHA256Digest.bytes(of: hash + bytes))
    }
}

public enum LedgerDigest {
    /// SHA-256 over the chains in origin order: equal on two nodes exactly when they hold the
    /// same entries, byte for byte.
    public static func of(_ chains: [NodeID: OriginChain]) -> String {
        var text = ""
        for (origin, chain) in chains.sorted(by: { $0.key < $1.key }) where chain.sequence > 0 {
            text += "\(origin.rawValue)=\(chain.sequence):\(SHA256Digest.hex(chain.hash))\n"
        }
        return SHA256Digest.hex(of: Array(text.utf8))
    }
}
