/// RFC 3339 timestamps in UTC with milliseconds, as the API and logs print them. Pure
/// arithmetic (days to civil date, after Howard Hinnant's algorithm), no C library: every
/// write's answer renders it on the event loop.
public enum RFC3339 {
    public static func format(milliseconds: Int64) -> String {
        let (seconds, millis) = CivilCalendar.floorDivide(milliseconds, 1000)
        let (days, secondOfDay) = CivilCalendar.floorDivide(seconds, 86_400)
        let (year, month, day) = CivilCalendar.civil(days: days)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func append(_ value: Int64, digits: Int, then separator: UInt8?) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(48 + value / divisor % 10))
                divisor /= 10
            }
            if let separator { bytes.append(separator) }
        }
        append(year, digits: 4, then: UInt8(ascii: "-"))
        append(month, digits: 2, then: UInt8(ascii: "-"))
        append(day, digits: 2, then: UInt8(ascii: "T"))
        append(secondOfDay / 3600, digits: 2, then: UInt8(ascii: ":"))
        append(secondOfDay % 3600 / 60, digits: 2, then: UInt8(ascii: ":"))
        append(secondOfDay % 60, digits: 2, then: UInt8(ascii: "."))
        append(millis, digits: 3, then: UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses an RFC 3339 time (`2026-03-01T00:00:00Z`, optional fraction of up to 9 digits,
    /// `Z` or a `±HH:MM` offset) into milliseconds since the epoch; nil if it isn't one.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2), expect("Tt"),
              let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2),
              (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(year: year, month: month),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var millis: Int64 = 0
        if expect(".") {
            var count = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if count < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
                count += 1
                index += 1
            }
            guard (1...9).contains(count) else { return nil }
            if count < 3 { for _ in count..<3 { millis *= 10 } }
        }
        var offsetMinutes: Int64 = 0
        if expect("Zz") {
            offsetMinutes = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = digits(2), expect(":"), let offsetMinute = digits(2), offsetHours < 24, offsetMinute < 60 else { return nil }
            offsetMinutes = sign * (offsetHours * 60 + offsetMinute)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) - offsetMinutes * 60) * 1000 + millis
    }
}
