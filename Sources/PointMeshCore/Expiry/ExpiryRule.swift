/// How long an earned lot lives: until the end of the Nth full month after the month it was
/// earned in, or N days after the instant it was earned. Times are UTC.
public enum ExpiryRule: Hashable, Sendable, CustomStringConvertible {
    case monthsEnd(Int64)
    case days(Int64)

    /// What a policy may say: at least a day or a month, at most ten years.
    public static let monthsRange: ClosedRange<Int64> = 1...120
    public static let daysRange: ClosedRange<Int64> = 1...3650

    /// When a lot earned at `earnedAt` expires: the first instant it is no longer spendable.
    /// `monthsEnd(12)` for a lot earned on 15 January 2026 is 1 February 2027 00:00 UTC, the end
    /// of January 2027, the 12th full month after January 2026.
    public func expiry(earnedAt: Int64) -> Int64 {
        switch self {
        case .monthsEnd(let months): CivilCalendar.startOfMonth(months + 1, after: earnedAt)
        case .days(let days): earnedAt + days * CivilCalendar.millisecondsPerDay
        }
    }

    /// Whether, for some earning instant, a lot under `self` would expire before one under
    /// `other`: a change from `other` to `self` then shortens validity.
    public func isShorter(than other: ExpiryRule) -> Bool {
        switch (self, other) {
        case (.monthsEnd(let new), .monthsEnd(let old)): return new < old
        case (.days(let new), .days(let old)): return new < old
        default: return minimumValidity < other.maximumValidity
        }
    }

    /// The shortest and longest a lot can live under the rule, in milliseconds: `days` always
    /// lives the same; `monthsEnd` lives from N full months (earned at a month's last instant)
    /// to N + 1 months (earned at its first). Measured over a whole 400-year calendar cycle.
    var minimumValidity: Int64 {
        switch self {
        case .days(let days): days * CivilCalendar.millisecondsPerDay
        case .monthsEnd(let months): Self.monthSpans(months).minimum
        }
    }

    var maximumValidity: Int64 {
        switch self {
        case .days(let days): days * CivilCalendar.millisecondsPerDay
        case .monthsEnd(let months): Self.monthSpans(months + 1).maximum
        }
    }

    /// The shortest and longest run of `months` consecutive calendar months, in milliseconds.
    private static func monthSpans(_ months: Int64) -> (minimum: Int64, maximum: Int64) {
        var minimum = Int64.max, maximum = Int64.min
        for month in 0..<(400 * 12 as Int64) {
            let start = CivilCalendar.days(year: 2000 + month / 12, month: month % 12 + 1, day: 1) * CivilCalendar.millisecondsPerDay
            let span = CivilCalendar.startOfMonth(months, after: start) - start
            minimum = min(minimum, span)
            maximum = max(maximum, span)
        }
        return (minimum, maximum)
    }

    /// Its name in the API: `months_end` or `days`.
    public var name: String {
        switch self {
        case .monthsEnd: "months_end"
        case .days: "days"
        }
    }

    public var count: Int64 {
        switch self {
        case .monthsEnd(let months): months
        case .days(let days): days
        }
    }

    public var description: String {
        switch self {
        case .monthsEnd(let months): "end of the \(months)\(Self.ordinalSuffix(months)) full month after earning"
        case .days(let days): "\(days) days after earning"
        }
    }

    private static func ordinalSuffix(_ number: Int64) -> String {
        if (11...13).contains(number % 100) { return "th" }
        return switch number % 10 {
        case 1: "st"
        case 2: "nd"
        case 3: "rd"
        default: "th"
        }
    }
}
