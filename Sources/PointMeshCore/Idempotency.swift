import CLibCrypto

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

/// SHA-256 through libcrypto: pure computation, so the core may use it.
public enum SHA256Digest {
    /// The algorithm, fetched from libcrypto's default provider once. OpenSSL 3's one-shot
    /// `SHA256()` fetched it by name on every call (a lock and a lookup, about 2,400
    /// instructions), and every write hashes at least twice. A fetched algorithm is immutable
    /// and may be shared between threads; nil if the provider lacks it (then the one-shot path).
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

    public static func bytes(of data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                if let algorithm, EVP_Digest(input.baseAddress, input.count, output.baseAddress, nil, algorithm, nil) == 1 { return }
                _ = SHA256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return out
    }

    public static func hex(of data: [UInt8]) -> String { hex(bytes(of: data)) }

    /// Lowercase hex of `digest`.
    public static func hex(_ digest: [UInt8]) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }
}
