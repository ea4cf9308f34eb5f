import CLibCrypto

/// HMAC-SHA256 through libcrypto, and a constant-time comparison for checking one.
public enum HMACSHA256 {
    public static let length = 32

    public static func mac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        let data = parts.flatMap { $0 }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        key.withUnsafeBufferPointer { keyBuffer in
            data.withUnsafeBufferPointer { dataBuffer in
                _ = HMAC(EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count),
                         dataBuffer.baseAddress, dataBuffer.count, &out, &outLength)
            }
        }
        return Array(out.prefix(Int(outLength)))
    }

    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }
}
