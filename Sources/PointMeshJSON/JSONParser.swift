/// A strict RFC 8259 JSON parser: request bodies, and every JSON the CLI reads (answers, files). Foundation's decoder is both slower and
/// looser than an API edge wants; this one rejects trailing garbage, invalid UTF-8, control
/// characters in strings, leading zeros and duplicate keys, and bounds nesting depth so a body
/// of `[[[[…` cannot exhaust the stack. It reads into a `JSONDocument` (what request readers
/// use); `parse` gives the same as a `JSONValue`.
public struct JSONParser {
    public enum Failure: Error, Equatable, Sendable {
        case invalid(String)
    }

    public static let maximumDepth = 64

    private let bytes: [UInt8]
    private var index = 0
    /// The document being built (`JSONDocument` says what they hold).
    private var nodes: [JSONDocument.Node] = []
    private var strings: [String] = []

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
        nodes.reserveCapacity(bytes.count / 8 + 4)
    }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        try document(bytes).value(0)
    }

    /// `bytes` as a document whose first node is the top-level value.
    public static func document(_ bytes: [UInt8]) throws(Failure) -> JSONDocument {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .invalid("unexpected data after the JSON value at byte \(parser.index)") }
        return JSONDocument(bytes: bytes, nodes: parser.nodes, strings: parser.strings)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func expect(_ literal: StaticString) throws(Failure) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count, bytes[index..<(index + expected.count)].elementsEqual(expected) else {
            throw .invalid("invalid literal at byte \(index)")
        }
        index += expected.count
    }

    /// Appends a leaf node (its `after` is the next node).
    private mutating func leaf(_ node: JSONDocument.Node) {
        var node = node
        node.after = Int32(nodes.count + 1)
        nodes.append(node)
    }

    private mutating func value(depth: Int) throws(Failure) {
        guard depth < Self.maximumDepth else { throw .invalid("nesting deeper than \(Self.maximumDepth)") }
        guard let byte = peek() else { throw .invalid("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): try object(depth: depth)
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"):
            try expect("true")
            leaf(JSONDocument.Node(kind: .bool, flag: true))
        case UInt8(ascii: "f"):
            try expect("false")
            leaf(JSONDocument.Node(kind: .bool, flag: false))
        case UInt8(ascii: "n"):
            try expect("null")
            leaf(JSONDocument.Node(kind: .null))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw .invalid("unexpected character at byte \(index)")
        }
    }

    /// Keys are compared by bytes with the object's earlier keys; an object of many keys keeps
    /// them in a set instead.
    private mutating func object(depth: Int) throws(Failure) {
        index += 1
        let node = nodes.count
        nodes.append(JSONDocument.Node(kind: .object))
        defer { nodes[node].after = Int32(nodes.count) }
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        var keys = 0, manyKeys: Set<String> = []
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw .invalid("expected a string key at byte \(index)") }
            let key = nodes.count
            try string()
            if keys < 32 {
                // The earlier keys of this object: each followed by its value, already parsed.
                var earlier = node + 1
                while earlier < key {
                    if sameKey(earlier, key) { throw .invalid("duplicate key \"\(text(key))\"") }
                    if keys == 31 { manyKeys.insert(text(earlier)) }
                    earlier = Int(nodes[earlier + 1].after)
                }
                keys += 1
                if keys == 32 { manyKeys.insert(text(key)) }
            } else if !manyKeys.insert(text(key)).inserted {
                throw .invalid("duplicate key \"\(text(key))\"")
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw .invalid("expected ':' at byte \(index)") }
            index += 1
            skipWhitespace()
            try value(depth: depth + 1)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw .invalid("expected ',' or '}' at byte \(index)")
            }
        }
    }

    /// String node `index` as text.
    private func text(_ index: Int) -> String { nodes[index].text(bytes, strings) }

    private func sameKey(_ a: Int, _ b: Int) -> Bool {
        let first = nodes[a], second = nodes[b]
        guard first.flag, second.flag else { return text(a) == text(b) }
        return bytes[Int(first.start)..<Int(first.end)].elementsEqual(bytes[Int(second.start)..<Int(second.end)])
    }

    private mutating func array(depth: Int) throws(Failure) {
        index += 1
        let node = nodes.count
        nodes.append(JSONDocument.Node(kind: .array))
        defer { nodes[node].after = Int32(nodes.count) }
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try value(depth: depth + 1)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw .invalid("expected ',' or ']' at byte \(index)")
            }
        }
    }

    /// A string node: plain ASCII without escapes (most keys and ids) is kept as its byte range;
    /// anything else is decoded and validated now and kept in the document's strings.
    private mutating func string() throws(Failure) {
        index += 1
        var end = index, ascii = true
        scan: while end < bytes.count {
            switch bytes[end] {
            case UInt8(ascii: "\""):
                if ascii {
                    leaf(JSONDocument.Node(kind: .string, flag: true, start: Int32(index), end: Int32(end)))
                } else {
                    guard let valid = String(validating: bytes[index..<end], as: UTF8.self) else { throw .invalid("string is not valid UTF-8") }
                    decoded(valid)
                }
                index = end + 1
                return
            case UInt8(ascii: "\\"), 0x00..<0x20: break scan
            case 0x80...: ascii = false
            default: break
            }
            end += 1
        }
        var output = Array(bytes[index..<end])
        index = end
        while true {
            guard let byte = peek() else { throw .invalid("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: output, as: UTF8.self) else { throw .invalid("string is not valid UTF-8") }
                return decoded(text)
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { throw .invalid("unterminated escape") }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"): output.append(contentsOf: try unicodeEscape())
                default: throw .invalid("invalid escape at byte \(index - 1)")
                }
            case 0x00..<0x20:
                throw .invalid("control character in a string at byte \(index - 1)")
            default:
                output.append(byte)
            }
        }
    }

    private mutating func decoded(_ text: String) {
        leaf(JSONDocument.Node(kind: .string, flag: false, scalar: Int64(strings.count)))
        strings.append(text)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw .invalid("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt32
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(bytes[index] - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(bytes[index] - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(bytes[index] - UInt8(ascii: "A") + 10)
            default: throw .invalid("invalid \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func unicodeEscape() throws(Failure) -> [UInt8] {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw .invalid("unpaired surrogate")
            }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw .invalid("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw .invalid("invalid \\u escape") }
        return Array(String(Character(unicode)).utf8)
    }

    private mutating func number() throws(Failure) {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw .invalid("invalid number at byte \(start)") }
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) { throw .invalid("leading zero at byte \(start)") }
        } else {
            skipDigits()
        }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard try skipRequiredDigits() else { throw .invalid("invalid number at byte \(start)") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard try skipRequiredDigits() else { throw .invalid("invalid number at byte \(start)") }
        }
        if integral, let integer = Self.integer(bytes[start..<index]) { return leaf(JSONDocument.Node(kind: .integer, scalar: integer)) }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        // A number beyond a double's range would become infinity, which JSON can't say: echoed
        // back it would be `inf` (the seeded fuzz test found it).
        guard let value = Double(text), value.isFinite else { throw .invalid("number out of range at byte \(start)") }
        leaf(JSONDocument.Node(kind: .number, scalar: Int64(bitPattern: value.bitPattern)))
    }

    /// An optional minus and digits as an `Int64`; nil when it overflows.
    private static func integer(_ digits: ArraySlice<UInt8>) -> Int64? {
        let negative = digits.first == UInt8(ascii: "-")
        var value: Int64 = 0
        for digit in digits.dropFirst(negative ? 1 : 0) {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = negative ? shifted.subtractingReportingOverflow(Int64(digit &- UInt8(ascii: "0")))
                : shifted.addingReportingOverflow(Int64(digit &- UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = next
        }
        return value
    }

    private mutating func skipDigits() {
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
    }

    private mutating func skipRequiredDigits() throws(Failure) -> Bool {
        let before = index
        skipDigits()
        return index > before
    }
}
