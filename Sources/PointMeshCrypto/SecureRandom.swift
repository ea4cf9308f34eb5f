import CLibCrypto

/// Random bytes from libcrypto's CSPRNG, for handshake nonces.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { buffer in _ = RAND_bytes(buffer.baseAddress, Int32(count)) }
        return out
    }
}
