import CLibCrypto

/// The client's id for a write, namespaced by what kind of write it names, so a `receipt_id`
/// and a `refund_id` that happen to be equal never collide. Text form: `receipt:R1`,
/// `refund:F1`, `redemption:Q1`.
public struct IdempotencyKey: Hashable, Sendable, CustomStringConvertible {
    public enum Scope: String, Sendable, CaseIterable {
        case receipt, refund, redemption
    }

    public var scope: Scope
    public var id: String

    public init(scope: Scope, id: String) {
        self.scope = scope
        self.id = id
    }

    public var description: String { "\(scope.rawValue):\(id)" }

    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":"),
              let scope = Scope(rawValue: String(text[..<colon]))
        else { return nil }
        self.init(scope: scope, id: String(text[text.index(after: colon)...]))
    }
}

/// SHA-256 of a request's canonical form (its fields in a fixed order, not its raw bytes), so
/// the same write sent with other whitespace or key order is a replay, not a conflict.
public struct RequestHash: Hashable, Sendable, CustomStringConvertible {
    public var hex: String
    public init(hex: String) { self.hex = hex }
    public init(canonical: String) { self.hex = SHA256Digest.hex(of: Array(canonical.utf8)) }
    public var description: String { hex }
}

/// SHA-256 through libcrypto: pure computation, so the core may use it.
public enum SHA256Digest {
    public static func bytes(of data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                _ = SHA256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return out
    }

    public static func hex(of data: [UInt8]) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(64)
        for byte in bytes(of: data) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }
}
