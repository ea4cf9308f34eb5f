/// The one JSON writer: values appended in order into bytes, compact or indented. Everything
/// PointMesh writes as JSON goes through it: `JSONValue.serialized` and `pretty` (responses, the
/// API description, logs, files the CLI writes) and the write answers a node renders on its HTTP
/// event loop, which name their keys in sorted order themselves rather than build a `JSONValue`.
///
/// The writer knows only where it stands (first in a container, after a key, after a value), which
/// decides the comma and, indented, the new line; it is the caller's to write keys in order and
/// a value after each key. Text is
/// escaped as RFC 8259 requires (quote, backslash, control characters); other characters are
/// written as their UTF-8 bytes.
public struct JSONWriter {
    /// The text so far is `output[..<end]`; the rest is room, zeroed. Written through a pointer
    /// rather than appended: `Array.append(contentsOf:)` of a key's few bytes took about 150
    /// instructions, a tenth of a purchase's answer.
    @usableFromInline var output: [UInt8]
    @usableFromInline var end = 0
    /// Where the next key or value goes.
    @usableFromInline enum Position {
        /// First in its container (or the top-level value): no comma.
        case first
        /// After a key: its value, with nothing between.
        case afterKey
        /// After a value: a comma first.
        case afterValue
    }

    @usableFromInline var position = Position.first
    /// Indented output's unit (nil: compact) and how many containers are open.
    @usableFromInline let indent: [UInt8]?
    @usableFromInline var depth = 0

    /// `capacity`: the bytes the text is likely to take, reserved once. `indent`: the text of
    /// one level of indentation, for output meant for people (nil: compact).
    public init(capacity: Int = 256, indent: String? = nil) {
        output = [UInt8](repeating: 0, count: max(capacity, 64))
        self.indent = indent.map { Array($0.utf8) }
    }

    // MARK: Containers

    @inlinable
    public mutating func beginObject() { open(UInt8(ascii: "{")) }

    @inlinable
    public mutating func endObject() { close(UInt8(ascii: "}")) }

    @inlinable
    public mutating func beginArray() { open(UInt8(ascii: "[")) }

    @inlinable
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    // MARK: Keys

    /// A key written in the program, trusted to need no escaping: `,"key":`, in one write.
    @inlinable
    public mutating func key(_ key: StaticString) {
        if indent != nil { return self.key(key.description) }
        let comma = position == .afterValue ? 1 : 0, count = key.utf8CodeUnitCount
        position = .afterKey
        room(comma + count + 3)
        let at = end
        output.withUnsafeMutableBufferPointer { buffer in
            if comma == 1 { buffer[at] = UInt8(ascii: ",") }
            buffer[at + comma] = UInt8(ascii: "\"")
            UnsafeMutableRawPointer(buffer.baseAddress! + at + comma + 1).copyMemory(from: key.utf8Start, byteCount: count)
            buffer[at + comma + 1 + count] = UInt8(ascii: "\"")
            buffer[at + comma + 2 + count] = UInt8(ascii: ":")
        }
        end += comma + count + 3
    }

    /// Any key, escaped.
    public mutating func key(_ key: String) {
        separate()
        quoted(key)
        byte(UInt8(ascii: ":"))
        if indent != nil { byte(UInt8(ascii: " ")) }
        position = .afterKey
    }

    // MARK: Values

    @inlinable
    public mutating func string(_ value: String) {
        separate()
        quoted(value)
        position = .afterValue
    }

    /// Text given as bytes that are valid UTF-8 (an id where it stands in an entry's details).
    @inlinable
    public mutating func string(utf8 bytes: UnsafeRawBufferPointer) {
        separate()
        quoted(bytes)
        position = .afterValue
    }

    @inlinable
    public mutating func integer(_ value: Int64) {
        separate()
        DecimalDigits.withText(value) { write(UnsafeRawBufferPointer($0)) }
        position = .afterValue
    }

    /// A number that is not an integer, as Swift's shortest round-tripping form writes it.
    public mutating func number(_ value: Double) {
        separate()
        var text = String(value)
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        position = .afterValue
    }

    @inlinable
    public mutating func bool(_ value: Bool) {
        separate()
        write(value ? "true" : "false")
        position = .afterValue
    }

    public mutating func null() {
        separate()
        write("null")
        position = .afterValue
    }

    /// The text (consumed, so the bytes aren't copied).
    @inlinable
    public consuming func finished() -> [UInt8] {
        output.removeLast(output.count - end)
        return output
    }

    // MARK: Bytes

    /// Before a key or an element: the comma after the previous one and, indented, the new line.
    /// Nothing before a value that follows its key.
    @usableFromInline
    mutating func separate() {
        switch position {
        case .afterKey: return
        case .afterValue: byte(UInt8(ascii: ","))
        case .first: break
        }
        newLine(depth)
    }

    @usableFromInline
    mutating func open(_ bracket: UInt8) {
        separate()
        byte(bracket)
        depth += 1
        position = .first
    }

    @usableFromInline
    mutating func close(_ bracket: UInt8) {
        depth -= 1
        if position == .afterValue { newLine(depth) }
        byte(bracket)
        position = .afterValue
    }

    @usableFromInline
    mutating func newLine(_ level: Int) {
        guard let indent, end > 0 else { return }
        byte(UInt8(ascii: "\n"))
        for _ in 0..<level { indent.withUnsafeBytes { write($0) } }
    }

    @usableFromInline
    mutating func quoted(_ value: String) {
        var value = value
        value.withUTF8 { quoted(UnsafeRawBufferPointer($0)) }
    }

    /// `bytes` in quotes, escaped where RFC 8259 requires; runs that need no escape are copied whole.
    @usableFromInline
    mutating func quoted(_ bytes: UnsafeRawBufferPointer) {
        byte(UInt8(ascii: "\""))
        var plain = 0
        for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            write(UnsafeRawBufferPointer(rebasing: bytes[plain..<index]))
            escape(byte)
            plain = index + 1
        }
        write(UnsafeRawBufferPointer(rebasing: bytes[plain...]))
        byte(UInt8(ascii: "\""))
    }

    @usableFromInline
    mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): write("\\\"")
        case UInt8(ascii: "\\"): write("\\\\")
        case UInt8(ascii: "\n"): write("\\n")
        case UInt8(ascii: "\r"): write("\\r")
        case UInt8(ascii: "\t"): write("\\t")
        default:
            let digits: StaticString = "0123456789abcdef"
            write("\\u00")
            self.byte(digits.utf8Start[Int(byte >> 4)])
            self.byte(digits.utf8Start[Int(byte & 0x0f)])
        }
    }

    @usableFromInline
    mutating func byte(_ value: UInt8) {
        room(1)
        output[end] = value
        end += 1
    }

    @usableFromInline
    mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @usableFromInline
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        room(bytes.count)
        let at = end
        output.withUnsafeMutableBytes { ($0.baseAddress! + at).copyMemory(from: source, byteCount: bytes.count) }
        end += bytes.count
    }

    /// Makes sure `count` more bytes fit after `end`.
    @usableFromInline
    mutating func room(_ count: Int) {
        if end + count > output.count { output.append(contentsOf: repeatElement(0, count: max(output.count, count))) }
    }
}
