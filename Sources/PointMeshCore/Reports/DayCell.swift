/// One figure of one UTC day, as the reports add it up: what a counting entry that stands
/// contributes to the activity (by store, campaign or reward) and to breakage (the points it
/// credited, by the day their lots are due to expire).
///
/// The store keeps each cell's sum in the write transaction (`day_totals`, added and taken back
/// exactly as the balance counters are when an entry stops or starts counting), so a report
/// over a year reads a few thousand sums instead of millions of entries; the partial first and
/// last days of a period add their entries' cells directly. Both go through `cells(of:)`, so a
/// report reads the same whichever way its days were summed.
public struct DayCell: Hashable, Sendable {
    public enum Dimension: Int, CaseIterable, Sendable {
        /// Every activity figure, by the store whose entry it was (the day grouping sums them).
        case store = 0
        /// `issued_by_campaigns`, by campaign.
        case campaign = 1
        /// `redeemed`, by reward (`points` for a plain redemption).
        case reward = 2
        /// Points credited to customer accounts and pools (a transfer's left out: they were
        /// counted where they were earned), by the UTC day their lot is due to expire as
        /// credited; the figure is `credited`.
        case creditExpiry = 3
    }

    /// Days since 1970-01-01 UTC.
    public var day: Int64
    public var dimension: Dimension
    public var key: String
    /// An activity column (`ActivityReport.Totals.columns`), or `credited`.
    public var figure: String

    public init(day: Int64, dimension: Dimension, key: String, figure: String) {
        self.day = day
        self.dimension = dimension
        self.key = key
        self.figure = figure
    }

    /// The figure of `creditExpiry` cells.
    public static let credited = "credited"

    /// The UTC day of `instant`.
    public static func day(of instant: Int64) -> Int64 { CivilCalendar.floorDivide(instant, CivilCalendar.millisecondsPerDay).0 }

    /// The first instant of `day`.
    public static func start(of day: Int64) -> Int64 { day * CivilCalendar.millisecondsPerDay }

    /// The whole UTC days inside `period`: those from the first midnight at or after its start
    /// to the last midnight at or before its end (empty when it holds no whole day).
    public static func wholeDays(in period: Range<Int64>) -> Range<Int64> {
        let first = day(of: period.lowerBound + CivilCalendar.millisecondsPerDay - 1), last = day(of: period.upperBound)
        return first..<max(first, last)
    }

    /// The parts of `period` outside its whole days: before the first and after the last (the
    /// whole period when it holds no whole day).
    public static func partialDays(of period: Range<Int64>) -> [Range<Int64>] {
        let days = wholeDays(in: period)
        guard !days.isEmpty else { return [period] }
        return [period.lowerBound..<start(of: days.lowerBound), start(of: days.upperBound)..<period.upperBound].filter { !$0.isEmpty }
    }

    /// What a counting entry that stands adds, cell by cell (cells it adds nothing to left out).
    public static func cells(of entry: LedgerEntry) throws(DecodingError) -> [DayCell: Points] {
        var cells: [DayCell: Points] = [:]
        try add(entry, sign: 1, to: &cells)
        return cells
    }

    /// Adds (`sign` 1) or takes back (-1) what a counting entry that stands adds to each cell.
    public static func add(_ entry: LedgerEntry, sign: Int64, to cells: inout [DayCell: Points]) throws(DecodingError) {
        let day = day(of: entry.timestamp.wallMilliseconds), store = entry.id.origin.rawValue
        func add(_ dimension: Dimension, _ key: String, _ figure: ActivityReport.Figure, _ points: Points) {
            guard points != .zero else { return }
            cells[DayCell(day: day, dimension: dimension, key: key, figure: figure.rawValue), default: .zero] += Points(sign * points.value)
        }
        // Only moves that change a balance: posted ones and the posting of a pending one.
        for move in entry.moves where ActivityReport.isFinal(move.phase) {
            if move.asset == .debt {
                if move.debit == .debtOwed, entry.code == Refund.code { add(.store, store, .refunded, move.amount) }
                continue
            }
            guard move.asset == .points else { continue }
            if move.debit.name.hasPrefix("@issued") {
                add(.store, store, .issued, move.amount)
                if move.credit.customer.flatMap(FamilyID.owning(pool:)) != nil { add(.store, store, .pooled, move.amount) }
            } else if move.credit.name.hasPrefix(ActivityReport.redeemedPrefix) {
                add(.store, store, .redeemed, move.amount)
                let reward = move.credit.name.dropFirst(ActivityReport.redeemedPrefix.count).drop { $0 == ":" }
                add(.reward, reward.isEmpty ? "points" : String(reward), .redeemed, move.amount)
            } else if move.credit.name.hasPrefix("@clawed-back") {
                add(.store, store, entry.code == Refund.code ? .refunded : .debtRepaid, move.amount)
            } else if move.debit == .compensated {
                add(.store, store, .compensated, move.amount)
            } else if move.credit == .deducted {
                add(.store, store, .deducted, move.amount)
            } else if move.debit.customer != nil, move.credit.customer != nil {
                add(.store, store, .transferred, move.amount)
            }
        }
        add(.store, store, .greenIssued, try ActivityReport.greenIssued(by: entry))
        for (campaign, points) in try ActivityReport.campaignPoints(of: entry) {
            add(.store, store, .issuedByCampaigns, points)
            add(.campaign, campaign.rawValue, .issuedByCampaigns, points)
        }
        // A transfer's lots are left out (`Lot.isTransferred`: their source is the transfer's key).
        guard entry.idempotencyKey.scope != Transfer.scope else { return }
        for credit in try LotEvents.credits(of: entry) {
            cells[DayCell(day: Self.day(of: credit.expiresAt), dimension: .creditExpiry, key: "", figure: Self.credited), default: .zero]
                += Points(sign * credit.amount.value)
        }
    }
}
