extension Array where Element == UInt8 {
    /// Appends `value` in decimal ASCII, as `String(value)` writes it, without making a string
    /// (for texts built on the hot path byte by byte: write answers, canonical forms).
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        // Digits least significant first, then turned around where they stand.
        var magnitude = value.magnitude
        let start = count
        repeat {
            append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        self[start...].reverse()
    }
}
