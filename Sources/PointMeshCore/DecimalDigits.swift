extension Array where Element == UInt8 {
    /// Appends `value` in decimal ASCII, as `String(value)` writes it, without making a string
    /// (for texts built on the hot path byte by byte: write answers, canonical forms).
    mutating func appendDecimal(_ value: Int64) {
        // Digits least significant first into a buffer on the stack (20 places: a sign and 19
        // digits), then appended in one go.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &buffer) { digits in
            var magnitude = value.magnitude, first = digits.count
            repeat {
                first -= 1
                digits[first] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                first -= 1
                digits[first] = UInt8(ascii: "-")
            }
            append(contentsOf: UnsafeRawBufferPointer(rebasing: digits[first...]))
        }
    }

    /// Appends the UTF-8 of `text` in one copy (appending a string's `utf8` view goes through
    /// it element by element).
    mutating func appendUTF8(of text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }
}
