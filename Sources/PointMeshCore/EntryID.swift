/// The globally unique id of a ledger entry: the node that wrote it and that node's sequence
/// number. Each origin numbers its entries 1, 2, 3, … without gaps, so a replica describes what
/// it holds of an origin by one number (see `VersionVector`).
public struct EntryID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var origin: NodeID
    public var sequence: Int64

    public init(origin: NodeID, sequence: Int64) {
        self.origin = origin
        self.sequence = sequence
    }

    /// `origin:sequence`. Node ids may contain `:`, the sequence never does, so the text
    /// splits unambiguously at its last colon.
    public var description: String { "\(origin.rawValue):\(sequence)" }

    /// Parses the `description` form; nil when it is not one.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"),
              let sequence = Int64(text[text.index(after: colon)...]), sequence > 0,
              let origin = try? NodeID(validating: String(text[..<colon]))
        else { return nil }
        self.init(origin: origin, sequence: sequence)
    }

    public static func < (lhs: EntryID, rhs: EntryID) -> Bool {
        (lhs.origin, lhs.sequence) < (rhs.origin, rhs.sequence)
    }
}
