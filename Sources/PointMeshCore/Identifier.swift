/// Why an id was refused. The contract allows 1 to 128 characters from `A-Z a-z 0-9 . _ : -`.
public enum IdentifierError: Error, Equatable, Sendable {
    case empty
    case tooLong(length: Int)
    case invalidCharacter(Character)
}

/// A validated identifier: every id the contract names (accounts, nodes, receipts, refunds,
/// requests) shares the same alphabet and length limit, so they share one validator.
public protocol Identifier: Hashable, Comparable, Sendable, CustomStringConvertible {
    var rawValue: String { get }
    /// Builds the id without checking; only `init(validating:)` is reachable from input.
    init(unchecked rawValue: String)
}

/// The longest id the contract allows, in characters (all allowed characters are ASCII).
public let maximumIdentifierLength = 128

extension Identifier {
    /// Validates `rawValue` against the contract's id rules.
    public init(validating rawValue: String) throws(IdentifierError) {
        try IdentifierError.check(rawValue)
        self.init(unchecked: rawValue)
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// `bytes` as an id's text when they are one as they stand (1 to 128 bytes of the alphabet,
/// read without unescaping), else nil: request readers take ids straight from a body's bytes.
func plainIdentifier<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String? {
    guard (1...maximumIdentifierLength).contains(bytes.count), bytes.allSatisfy(isIdentifierByte) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

@inline(__always)
func isIdentifierByte(_ byte: UInt8) -> Bool {
    // One bit per allowed byte, for bytes 0-63 (`-`, `.`, digits, `:`) and 64-127 (letters,
    // `_`): a shift and a test instead of a range comparison each, for every byte of every id
    // a purchase's lines carry.
    let low: UInt64 = 1 << 45 | 1 << 46 | 0x3ff << 48 | 1 << 58
    let high: UInt64 = 0x3ff_ffff << 1 | 1 << 31 | 0x3ff_ffff << 33
    return byte < 64 ? low >> byte & 1 == 1 : byte < 128 && high >> (byte - 64) & 1 == 1
}

/// A customer's account, or a family pool (`family:{id}`).
public struct AccountID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A PointMesh node (a store or HQ). Origin of the entries it writes.
public struct NodeID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A point-of-sale receipt; it earns at most once chain-wide.
public struct ReceiptID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A client-chosen id for a refund, a redemption or another write that has no receipt.
public struct RequestID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A product's stock-keeping unit on a receipt line.
public struct SKU: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A product category (campaigns and green points filter on it).
public struct CategoryID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

extension IdentifierError {
    /// Checks `rawValue` against the contract's id rules (the same for every kind of id).
    public static func check(_ rawValue: String) throws(IdentifierError) {
        if rawValue.isEmpty { throw .empty }
        let utf8 = rawValue.utf8
        if utf8.count > maximumIdentifierLength { throw .tooLong(length: rawValue.count) }
        for byte in utf8 where !isIdentifierByte(byte) {
            let bad = rawValue.first { char in !char.isASCII || !char.utf8.allSatisfy(isIdentifierByte) } ?? "?"
            throw .invalidCharacter(bad)
        }
    }
}
