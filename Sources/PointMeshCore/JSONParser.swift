/// A strict RFC 8259 JSON parser for request bodies. Foundation's decoder is both slower and
/// looser than an API edge wants; this one rejects trailing garbage, invalid UTF-8, control
/// characters in strings, leading zeros and duplicate keys, and bounds nesting depth so a body
/// of `[[[[…` cannot exhaust the stack.
public struct JSONParser {
    public enum Failure: Error, Equatable, Sendable {
        case invalid(String)
    }

    public static let maximumDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .invalid("unexpected data after the JSON value at byte \(parser.index)") }
        return value
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

    private mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count, bytes[index..<(index + expected.count)].elementsEqual(expected) else {
            throw .invalid("invalid literal at byte \(index)")
        }
        index += expected.count
        return value
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard depth < Self.maximumDepth else { throw .invalid("nesting deeper than \(Self.maximumDepth)") }
        guard let byte = peek() else { throw .invalid("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw .invalid("unexpected character at byte \(index)")
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        index += 1
        // Room for a request's usual handful of fields, so small objects never grow and rehash.
        var fields = [String: JSONValue](minimumCapacity: 8)
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return .object(fields)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw .invalid("expected a string key at byte \(index)") }
            let key = try string()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw .invalid("expected ':' at byte \(index)") }
            index += 1
            skipWhitespace()
            let value = try value(depth: depth + 1)
            guard fields.updateValue(value, forKey: key) == nil else { throw .invalid("duplicate key \"\(key)\"") }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(fields)
            default: throw .invalid("expected ',' or '}' at byte \(index)")
            }
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw .invalid("expected ',' or ']' at byte \(index)")
            }
        }
    }

    private mutating func string() throws(Failure) -> String {
        index += 1
        // Most strings (keys, ids) are plain ASCII without escapes: take them in one slice.
        var end = index, ascii = true
        scan: while end < bytes.count {
            switch bytes[end] {
            case UInt8(ascii: "\""):
                let slice = bytes[index..<end]
                let text: String
                if ascii {
                    text = String(decoding: slice, as: UTF8.self)
                } else {
                    guard let valid = String(validating: slice, as: UTF8.self) else { throw .invalid("string is not valid UTF-8") }
                    text = valid
                }
                index = end + 1
                return text
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
                return text
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

    private mutating func number() throws(Failure) -> JSONValue {
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
        if integral, let integer = Self.integer(bytes[start..<index]) { return .integer(integer) }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        // A number beyond a double's range would become infinity, which JSON can't say: echoed
        // back it would be `inf` (the seeded fuzz test found it).
        guard let value = Double(text), value.isFinite else { throw .invalid("number out of range at byte \(start)") }
        return .number(value)
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
