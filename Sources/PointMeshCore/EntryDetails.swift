/// A kind's own details on an entry: tagged fields, `varint tag | varint length | bytes`, in
/// the order written. The shared entry type knows nothing of them; each kind reads and writes
/// its own tags (`DetailsReader`, `DetailsWriter`). A field a node does not know is kept and
/// forwarded as received, so a newer release can add fields to an existing kind and an older
/// node passes them on intact.
public struct EntryDetails: Hashable, Sendable {
    /// The encoded fields, exactly as written or received.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public static let empty = EntryDetails(bytes: [])

    /// Every field, in order; throws when the bytes are not a well-formed field list.
    public func fields() throws(DecodingError) -> [(tag: UInt64, value: [UInt8])] {
        var reader = BinaryReader(bytes)
        var fields: [(tag: UInt64, value: [UInt8])] = []
        while !reader.isAtEnd {
            let tag = try reader.varint()
            fields.append((tag, try reader.lengthPrefixed()))
        }
        return fields
    }

    /// A reader over the fields, for a kind's decoder.
    public func reader() throws(DecodingError) -> DetailsReader { DetailsReader(try fields()) }
}

/// Builds a kind's details, one tagged field at a time.
public struct DetailsWriter: Sendable {
    private var writer = BinaryWriter()

    public init() {}

    public var details: EntryDetails { EntryDetails(bytes: writer.bytes) }

    public mutating func field(_ tag: UInt64, _ build: (inout BinaryWriter) -> Void) {
        var value = BinaryWriter()
        build(&value)
        writer.varint(tag)
        writer.lengthPrefixed(value.bytes)
    }

    public mutating func text(_ tag: UInt64, _ value: String?) {
        guard let value else { return }
        field(tag) { $0.raw(Array(value.utf8)) }
    }

    public mutating func number(_ tag: UInt64, _ value: Int64?) {
        guard let value else { return }
        // Zig-zag, so the occasional negative number stays short too.
        field(tag) { $0.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }
    }
}

/// Reads a kind's details: each typed accessor finds its tag; tags it is not asked for (from
/// newer releases) are simply not read.
public struct DetailsReader: Sendable {
    private let fields: [(tag: UInt64, value: [UInt8])]

    init(_ fields: [(tag: UInt64, value: [UInt8])]) { self.fields = fields }

    public func value(_ tag: UInt64) -> [UInt8]? { fields.first { $0.tag == tag }?.value }

    /// Every value of a repeated field, in order.
    public func values(_ tag: UInt64) -> [[UInt8]] { fields.filter { $0.tag == tag }.map(\.value) }

    public func text(_ tag: UInt64) throws(DecodingError) -> String? {
        guard let bytes = value(tag) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalid("detail \(tag) is not UTF-8") }
        return text
    }

    public func identifier<ID: Identifier>(_ tag: UInt64, as type: ID.Type = ID.self) throws(DecodingError) -> ID? {
        guard let text = try text(tag) else { return nil }
        do {
            return try ID(validating: text)
        } catch {
            throw .invalid("detail \(tag): invalid id \(text.debugDescription)")
        }
    }

    public func number(_ tag: UInt64) throws(DecodingError) -> Int64? {
        guard let bytes = value(tag) else { return nil }
        var reader = BinaryReader(bytes)
        let raw = try reader.varint()
        guard reader.isAtEnd else { throw .invalid("detail \(tag): trailing bytes") }
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }
}
