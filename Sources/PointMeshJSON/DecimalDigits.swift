/// An `Int64` in decimal ASCII, as `String(value)` writes it, made without a string: texts built
/// byte by byte on hot paths (write answers, canonical forms) use it.
public enum DecimalDigits {
    /// How many bytes `String(value)` has.
    @inlinable
    public static func count(_ value: Int64) -> Int {
        var count = 1, rest = value.magnitude / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count + (value < 0 ? 1 : 0)
    }

    /// Writes `value` into `buffer` so that it ends just before `end`, least significant digit
    /// first; returns where it starts. The buffer has room for `count(value)` bytes before `end`.
    @inlinable
    public static func write(_ value: Int64, endingAt end: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var magnitude = value.magnitude, first = end
        repeat {
            first -= 1
            buffer[first] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            first -= 1
            buffer[first] = UInt8(ascii: "-")
        }
        return first
    }
}

extension DecimalDigits {
    /// Runs `body` with `value`'s decimal text, written on the stack: 24 places, for a sign and
    /// 19 digits.
    @inlinable
    public static func withText<Result>(_ value: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return Swift.withUnsafeMutableBytes(of: &buffer) { digits in
            let first = write(value, endingAt: digits.count, into: digits)
            return body(UnsafeRawBufferPointer(rebasing: digits[first...]).assumingMemoryBound(to: UInt8.self))
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` in decimal (`DecimalDigits`).
    @inlinable
    public mutating func appendDecimal(_ value: Int64) {
        DecimalDigits.withText(value) { append(contentsOf: $0) }
    }
}
