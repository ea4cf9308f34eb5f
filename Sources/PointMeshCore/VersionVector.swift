import PointMeshCrypto

/// For each origin node, the highest sequence number held with no gaps below it. Because every
/// replica holds a gap-free prefix of each origin's entries, this vector names exactly the set
/// of entries a node holds.
public struct VersionVector: Hashable, Sendable {
    public private(set) var sequences: [NodeID: Int64]

    public init(_ sequences: [NodeID: Int64] = [:]) {
        self.sequences = sequences.filter { $0.value > 0 }
    }

    public subscript(origin: NodeID) -> Int64 { sequences[origin] ?? 0 }

    public mutating func advance(_ origin: NodeID, to sequence: Int64) {
        if sequence > self[origin] { sequences[origin] = sequence }
    }

    /// Total number of entries the vector covers.
    public var entryCount: Int64 { sequences.values.reduce(0, +) }

    /// SHA-256 over the vector's origins in sorted order. Two nodes have equal digests exactly
    /// when they hold the same entries (entries are immutable and named by origin and sequence).
    public var digest: String {
        var text = ""
        for (origin, sequence) in sequences.sorted(by: { $0.key < $1.key }) {
            text += "\(origin.rawValue)=\(sequence)\n"
        }
        return SHA256Digest.hex(of: Array(text.utf8))
    }
}
