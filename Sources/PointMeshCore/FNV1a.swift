/// FNV-1a, 64 bits: a hash of a few bytes, a multiply per byte, for the hot paths' own small
/// tables (a receipt's sums per category, the earning's category index), where `Hasher`'s
/// SipHash of a `String` cost more than the work around it. Each match is still confirmed by
/// comparing the bytes.
enum FNV1a {
    static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
