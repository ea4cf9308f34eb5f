/// Big-endian binary writing for gossip frames.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }

    public mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xff)) }
    }

    public mutating func i64(_ value: Int64) {
        let raw = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((raw >> UInt64(shift)) & 0xff)) }
    }

    /// A string as a 16-bit byte length and UTF-8 bytes. Callers keep strings short (ids).
    public mutating func string(_ value: String) {
        let utf8 = Array(value.utf8.prefix(Int(UInt16.max)))
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    mutating func raw(_ value: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: value) }

    mutating func reserveCapacity(_ capacity: Int) { bytes.reserveCapacity(capacity) }

}

/// Why bytes did not decode. The connection that sent them is closed.
public enum DecodingError: Error, Hashable, Sendable {
    case truncated
    case invalid(String)
}

/// Big-endian binary reading that never reads past its input.
public struct BinaryReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(DecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw .truncated }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// A byte read in place (not through `take`'s slice, which costs a retain and a release:
    /// every varint of every entry read comes through here).
    public mutating func u8() throws(DecodingError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16() throws(DecodingError) -> UInt16 {
        try take(2).reduce(0) { $0 << 8 | UInt16($1) }
    }

    public mutating func u32() throws(DecodingError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func i64() throws(DecodingError) -> Int64 {
        Int64(bitPattern: try take(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    public mutating func string() throws(DecodingError) -> String {
        let count = Int(try u16())
        guard let text = String(validating: try take(count), as: UTF8.self) else { throw .invalid("string is not UTF-8") }
        return text
    }

    public mutating func raw(_ count: Int) throws(DecodingError) -> [UInt8] { Array(try take(count)) }

    /// Moves past `count` bytes without copying them.
    public mutating func skip(_ count: Int) throws(DecodingError) {
        guard count >= 0, remaining >= count else { throw .truncated }
        offset += count
    }

    /// An id, validated as the contract's ids are.
    public mutating func identifier<ID: Identifier>(_ type: ID.Type = ID.self) throws(DecodingError) -> ID {
        let text = try string()
        do {
            return try ID(validating: text)
        } catch {
            throw .invalid("invalid id \(text.debugDescription)")
        }
    }
}

extension BinaryWriter {
    /// An unsigned LEB128 varint: 7 bits a byte, low bits first, high bit set on all but the
    /// last. Small numbers (sequences, amounts, lengths) take one to three bytes.
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            u8(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        u8(UInt8(rest))
    }

    /// How many bytes `varint(value)` writes.
    static func varintLength(_ value: UInt64) -> Int {
        var length = 1, rest = value >> 7
        while rest != 0 {
            length += 1
            rest >>= 7
        }
        return length
    }

    /// Puts `value` as a varint at `offset`, moving what follows it along.
    mutating func insertVarint(_ value: UInt64, at offset: Int) {
        guard value >= 0x80 else { return bytes.insert(UInt8(value), at: offset) }
        var encoded = BinaryWriter()
        encoded.varint(value)
        bytes.insert(contentsOf: encoded.bytes, at: offset)
    }

    /// A non-negative `Int64` as a varint (callers check the sign).
    public mutating func count(_ value: Int64) { varint(UInt64(max(0, value))) }

    /// A string as a varint byte length and UTF-8 bytes.
    public mutating func text(_ value: String) {
        varint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// Bytes as a varint length and the bytes.
    public mutating func lengthPrefixed(_ value: [UInt8]) {
        varint(UInt64(value.count))
        raw(value)
    }
}

extension BinaryReader {
    /// A varint in its minimal form: a longer form of the same number (`0x81 0x00` for 1) is
    /// refused, so decoding then encoding always gives back the same bytes.
    public mutating func varint() throws(DecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 64, !(shift == 63 && byte > 1) else { throw .invalid("varint overflows 64 bits") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else { throw .invalid("non-minimal varint") }
                return value
            }
            shift += 7
        }
    }

    /// A varint that must fit a non-negative `Int64`.
    public mutating func count() throws(DecodingError) -> Int64 {
        let value = try varint()
        guard value <= UInt64(Int64.max) else { throw .invalid("number \(value) out of range") }
        return Int64(value)
    }

    /// A varint length that must fit in what is left.
    public mutating func length() throws(DecodingError) -> Int {
        let value = try varint()
        guard value <= UInt64(remaining) else { throw .truncated }
        return Int(value)
    }

    public mutating func text() throws(DecodingError) -> String {
        let bytes = try raw(try length())
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalid("string is not UTF-8") }
        return text
    }

    public mutating func lengthPrefixed() throws(DecodingError) -> [UInt8] { try raw(try length()) }

    /// A varint-length id, validated as the contract's ids are.
    public mutating func textIdentifier<ID: Identifier>(_ type: ID.Type = ID.self) throws(DecodingError) -> ID {
        let text = try text()
        do {
            return try ID(validating: text)
        } catch {
            throw .invalid("invalid id \(text.debugDescription)")
        }
    }
}
