import CLibCrypto

/// SHA-256 through libcrypto: pure computation, so the core may use it (request hashes, hash chains).
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
