/// Reads a purchase body in one pass over its bytes, for the shape tills send: an object of
/// `receipt_id`, `account_id`, `amount_fen` and optional `items` (each `sku`, `category`,
/// `amount_fen`), strings without escapes, amounts in plain digits, JSON whitespace anywhere.
///
/// Why: every purchase is parsed on the event loop, and a receipt of many lines through the
/// general reader (a document of nodes, then typed accessors) cost more than the rest of the
/// line's work together (docs/benchmarks.md, "Campaigns").
///
/// It accepts a subset of what `Earn.request(from:)` accepts and reads it the same way: anything
/// else (an escape, a `budget_override`, a field unknown, repeated or missing, another type, a
/// number with a sign, fraction, exponent or leading zero, a value out of range, lines summing
/// past the amount) gives `nil`, and the general reader decides, with its errors. A test
/// compares the two over generated and mutated bodies.
enum PlainPurchaseReader {
    static func request(from body: [UInt8]) -> Earn.Request? {
        body.withUnsafeBufferPointer { bytes in
            var scanner = Scanner(bytes: bytes)
            return scanner.purchase()
        }
    }

    /// The members a purchase may have; their index is what `Scanner.object` passes.
    private static let purchaseMembers: [StaticString] = ["receipt_id", "account_id", "amount_fen", "items"]

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func purchase() -> Earn.Request? {
            // Neither form of a line is longer than its JSON object: the body's length is room enough.
            ReceiptLines.Builder.withRoom(fields: bytes.count, canonical: bytes.count) { lines in
                var receipt: String?, account: String?, amount: Int64?
                let read = object(PlainPurchaseReader.purchaseMembers) { scanner, member in
                    switch member {
                    case 0: receipt = scanner.identifier(); return receipt != nil
                    case 1: account = scanner.identifier(); return account != nil
                    case 2: amount = scanner.positiveInteger(); return amount != nil
                    default: return scanner.lines(into: &lines)
                    }
                }
                guard read, atEnd(), let receipt, let account, let amount, lines.covered <= amount else { return nil }
                return Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: account), amount: Fen(amount),
                                    lines: lines.lines(amount: Fen(amount)))
            }
        }

        /// `[` line objects `]`, at most `Limits.maximumItems`, taken straight from the body's bytes.
        mutating func lines(into lines: inout ReceiptLines.Builder) -> Bool {
            guard take(UInt8(ascii: "[")) else { return false }
            if take(UInt8(ascii: "]")) { return true }
            var count = 0
            repeat {
                guard count < Limits.maximumItems, compactLine(into: &lines) || line(into: &lines) else { return false }
                count += 1
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        }

        /// A line exactly as tills write it, `{"sku":"…","category":"…","amount_fen":…}` without
        /// whitespace, read by matching its fixed parts: nearly every line is this, and a
        /// 20-line receipt spends most of its reading in the lines. False, at the place it
        /// started, for a line of any other layout or with anything wrong in it: `line` then
        /// reads it (and refuses what is wrong).
        mutating func compactLine(into lines: inout ReceiptLines.Builder) -> Bool {
            let start = index
            guard literal(#"{"sku":""#), let sku = identifierToQuote(), literal(#","category":""#), let category = identifierToQuote(),
                  literal(#","amount_fen":"#), let amount = positiveIntegerText(), literal("}"), add(sku: sku, category: category, amount: amount, to: &lines)
            else {
                index = start
                return false
            }
            return true
        }

        /// `text`, if the bytes at the place are exactly it; taken. Compared eight bytes at a time.
        mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard bytes.count - index >= count, let base = bytes.baseAddress else { return false }
            let here = UnsafeRawPointer(base + index), expected = UnsafeRawPointer(text.utf8Start)
            var offset = 0
            while count - offset >= 8 {
                guard here.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == expected.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
                offset += 8
            }
            while offset < count {
                guard here.load(fromByteOffset: offset, as: UInt8.self) == expected.load(fromByteOffset: offset, as: UInt8.self) else { return false }
                offset += 1
            }
            index += count
            return true
        }

        /// The id bytes from the place up to a closing quote, 1 to `maximumIdentifierLength` of
        /// them; the quote is taken.
        mutating func identifierToQuote() -> Range<Int>? {
            let start = index
            var end = start
            while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\""), (1...maximumIdentifierLength).contains(end - start) else { return nil }
            index = end + 1
            return start..<end
        }

        /// A line object, read without `object`'s general member lookup: a receipt has up to
        /// `Limits.maximumItems` of them, and each of its three names is told by its length.
        mutating func line(into lines: inout ReceiptLines.Builder) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            var sku: Range<Int>?, category: Range<Int>?, amount: (value: Int64, digits: Range<Int>)?
            repeat {
                guard let name = key() else { return false }
                switch name.count {
                case 3 where sku == nil && equals(name, "sku"):
                    sku = identifierBytes()
                    guard sku != nil else { return false }
                case 8 where category == nil && equals(name, "category"):
                    category = identifierBytes()
                    guard category != nil else { return false }
                case 10 where amount == nil && equals(name, "amount_fen"):
                    amount = positiveIntegerText()
                    guard amount != nil else { return false }
                default: return false
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")), let sku, let category, let amount else { return false }
            return add(sku: sku, category: category, amount: amount, to: &lines)
        }

        func add(sku: Range<Int>, category: Range<Int>, amount: (value: Int64, digits: Range<Int>), to lines: inout ReceiptLines.Builder) -> Bool {
            lines.add(sku: UnsafeBufferPointer(rebasing: bytes[sku]), category: UnsafeBufferPointer(rebasing: bytes[category]), fen: amount.value,
                      digits: UnsafeBufferPointer(rebasing: bytes[amount.digits]))
        }

        /// `{` members `}`, each named in `names` and there at most once; `value` reads the value
        /// of member `names[index]`, false when it can't. False for anything else.
        mutating func object(_ names: [StaticString], _ value: (inout Scanner, Int) -> Bool) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            var seen: UInt64 = 0
            repeat {
                guard let name = key(), let member = names.firstIndex(where: { equals(name, $0) }), seen & (1 << member) == 0,
                      value(&self, member)
                else { return false }
                seen |= 1 << member
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        }

        /// A member's name and its colon. Every name read here is lowercase letters and `_`:
        /// a name of other bytes is none of them, so it isn't read past its first such byte.
        mutating func key() -> Range<Int>? {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            var end = start
            while end < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[end]) || bytes[end] == UInt8(ascii: "_") { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
            index = end + 1
            return take(UInt8(ascii: ":")) ? start..<end : nil
        }

        /// An id's text (`identifierBytes`).
        mutating func identifier() -> String? {
            identifierBytes().map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }

        /// Where an id stands in the body: a string of 1 to `maximumIdentifierLength` bytes of the
        /// id alphabet, read in one pass up to its closing quote. Anything else in the string (an
        /// escape, another character) is no id as it stands.
        mutating func identifierBytes() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            return identifierToQuote()
        }

        /// 1 to `Limits.maximumAmount` in digits, without a leading zero, ended by whitespace or
        /// a delimiter (not a fraction or an exponent).
        mutating func positiveInteger() -> Int64? { positiveIntegerText()?.value }

        /// `positiveInteger`, with where its digits stand: they are its canonical decimal text.
        mutating func positiveIntegerText() -> (value: Int64, digits: Range<Int>)? {
            skipSpace()
            let start = index
            var value: Int64 = 0, digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                guard digits < 13, !(digits == 0 && bytes[index] == UInt8(ascii: "0")) else { return nil }
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            guard digits > 0, value <= Limits.maximumAmount.value, index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0a, 0x0d: return (value, start..<index)
            default: return nil
            }
        }

        /// Takes `byte` after any whitespace, if it is next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func atEnd() -> Bool {
            skipSpace()
            return index == bytes.count
        }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09 { index += 1 }
        }

        func equals(_ range: Range<Int>, _ name: StaticString) -> Bool {
            guard range.count == name.utf8CodeUnitCount else { return false }
            let expected = name.utf8Start
            for offset in 0..<range.count where bytes[range.lowerBound + offset] != expected[offset] { return false }
            return true
        }
    }
}
