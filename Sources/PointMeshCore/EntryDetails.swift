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

    /// The tags every kind shares, read by the store and the fold whatever the kind: links,
    /// lot events and the caller. A kind's own tags are the others. docs/protocol.md lists
    /// these; a test keeps the two equal.
    public static let sharedTags = Set([EntryLinks.tag, EntryAudit.callerTag] + LotEvents.tags)

    /// A reader over the fields, for a kind's decoder. The bytes were checked when the entry was
    /// decoded or built; checking again is cheap and keeps the reader's scan simple.
    public func reader() throws(DecodingError) -> DetailsReader {
        var reader = BinaryReader(bytes)
        while !reader.isAtEnd {
            _ = try reader.varint()
            try reader.skip(try reader.length())
        }
        return DetailsReader(bytes)
    }
}

/// Builds a kind's details, one tagged field at a time, into one buffer: a field's value is
/// written in place and its length put in front of it afterwards (this runs on the writer
/// thread for every entry, so it allocates nothing per field).
public struct DetailsWriter: Sendable {
    private var writer = BinaryWriter()

    public init() {}

    /// A writer with room for `capacity` bytes.
    public init(capacity: Int) { writer.reserveCapacity(capacity) }

    public var details: EntryDetails { EntryDetails(bytes: writer.bytes) }

    /// A number as `number` encodes it: zig-zag, so the occasional negative number stays short
    /// too (`DetailsReader.zigzag` reads it).
    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    /// A field whose value `build` writes as raw bytes.
    public mutating func field(_ tag: UInt64, _ build: (inout BinaryWriter) -> Void) {
        writer.varint(tag)
        let start = writer.bytes.count
        build(&writer)
        writer.insertVarint(UInt64(writer.bytes.count - start), at: start)
    }

    /// A field whose value is itself a list of tagged fields, which `build` writes.
    public mutating func group(_ tag: UInt64, _ build: (inout DetailsWriter) -> Void) {
        writer.varint(tag)
        let start = writer.bytes.count
        build(&self)
        writer.insertVarint(UInt64(writer.bytes.count - start), at: start)
    }

    /// Fields written before (by another `DetailsWriter`), as they are.
    public mutating func append(_ fields: EntryDetails) { writer.raw(fields.bytes) }

    public mutating func text(_ tag: UInt64, _ value: String?) {
        guard var value else { return }
        writer.varint(tag)
        value.withUTF8 { utf8 in
            writer.varint(UInt64(utf8.count))
            writer.raw(utf8)
        }
    }

    public mutating func number(_ tag: UInt64, _ value: Int64?) {
        guard let value else { return }
        let encoded = Self.zigzag(value)
        writer.varint(tag)
        writer.varint(UInt64(BinaryWriter.varintLength(encoded)))
        writer.varint(encoded)
    }
}

/// Reads a kind's details: each typed accessor finds its tag by scanning the bytes (a kind has a
/// handful of fields, and nothing is copied but the value asked for); tags it is not asked for
/// (from newer releases) are simply not read.
public struct DetailsReader: Sendable {
    private let bytes: [UInt8]

    /// `bytes` must be a well-formed field list (`EntryDetails.reader` checks).
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Calls `body` with the value range of each field with `tag`, in order, until it returns
    /// false.
    private func forEach(_ tag: UInt64, _ body: (Range<Int>) -> Bool) {
        var reader = BinaryReader(bytes)
        while !reader.isAtEnd {
            guard let fieldTag = try? reader.varint(), let length = try? reader.length() else { return }
            let start = reader.offset
            if fieldTag == tag, !body(start..<(start + length)) { return }
            guard (try? reader.skip(length)) != nil else { return }
        }
    }

    /// The first value of `tag`: the fields after it are not read.
    public func value(_ tag: UInt64) -> [UInt8]? {
        var found: [UInt8]?
        forEach(tag) { range in
            found = Array(bytes[range])
            return false
        }
        return found
    }

    /// Every value of a repeated field, in order.
    public func values(_ tag: UInt64) -> [[UInt8]] {
        var found: [[UInt8]] = []
        forEach(tag) {
            found.append(Array(bytes[$0]))
            return true
        }
        return found
    }

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
        return try Self.number(bytes)
    }

    /// A field's value as a number `DetailsWriter.number` wrote.
    static func number(_ bytes: [UInt8]) throws(DecodingError) -> Int64 {
        var reader = BinaryReader(bytes)
        let raw = try reader.varint()
        guard reader.isAtEnd else { throw .invalid("a number detail has trailing bytes") }
        return zigzag(raw)
    }

    /// A number from the zig-zag varint `DetailsWriter.number` wrote.
    static func zigzag(_ raw: UInt64) -> Int64 { Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1) }

    /// The zig-zag number at `reader`'s position.
    static func zigzag(_ reader: inout BinaryReader) throws(DecodingError) -> Int64 { zigzag(try reader.varint()) }

    /// Calls `body` for each field of the nested field list (a group) at `start..<start+length`
    /// of `bytes`, with a reader positioned at the field's value and the value's end; the next
    /// field is read from that end whatever `body` read of this one.
    static func forEachNested(in bytes: [UInt8], from start: Int, length: Int,
                              _ body: (UInt64, inout BinaryReader, Int) throws(DecodingError) -> Void) throws(DecodingError) {
        var reader = BinaryReader(bytes, offset: start)
        while reader.offset < start + length {
            let field = try reader.varint(), size = try reader.length()
            let end = reader.offset + size
            guard end <= start + length else { throw .invalid("nested detail overruns its field") }
            try body(field, &reader, end)
            if reader.offset <= end {
                try reader.skip(end - reader.offset)
            } else {
                reader = BinaryReader(bytes, offset: end)  // `body` read past the value: the next field starts at its end
            }
        }
    }
}
