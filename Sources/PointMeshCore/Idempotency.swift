import PointMeshCrypto

/// The client's id for a write, namespaced by what kind of write it names, so a `receipt_id`
/// and a `refund_id` that happen to be equal never collide. Text form: `receipt:R1`,
/// `refund:F1`, `redemption:Q1`. Each kind names its scope (`EntryKindRule.scope`); the set is
/// open, so an entry of a kind a node does not know keeps its key.
public struct IdempotencyKey: Hashable, Sendable, CustomStringConvertible {
    public var scope: String
    public var id: String

    public init(scope: String, id: String) {
        self.scope = scope
        self.id = id
    }

    public var description: String { "\(scope):\(id)" }

    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        self.init(scope: String(text[..<colon]), id: String(text[text.index(after: colon)...]))
    }
}

/// SHA-256 of a request's canonical form (its fields in a fixed order, not its raw bytes), so
/// the same write sent with other whitespace or key order is a replay, not a conflict.
public struct RequestHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(canonical: String) { self.bytes = SHA256Digest.bytes(of: Array(canonical.utf8)) }
    public var hex: String { SHA256Digest.hex(bytes) }
    public var description: String { hex }

    /// Parses the 64-digit lowercase hex form (stored by the previous release).
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
