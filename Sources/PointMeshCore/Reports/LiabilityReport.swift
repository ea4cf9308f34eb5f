import PointMeshJSON

/// The points the chain owes its customers at one instant, as finance books them: what is
/// outstanding (by issuing store, with its green part and the part family pools hold, pending
/// apart), when it
/// expires, the debt customers owe back, and its value in money less expected breakage
/// (docs/rules.md, "Reports"). Built by adding each account's lot book folded up to `asOf`, so
/// the same entries give the same report on every node.
public struct LiabilityReport: Sendable {
    public let asOf: Int64
    /// Spendable points customers and family pools hold: the sum of their balances (pending
    /// apart).
    public private(set) var points = Points.zero
    /// The green part of `points`.
    public private(set) var greenPoints = Points.zero
    /// The part of `points` family pools hold.
    public private(set) var poolPoints = Points.zero
    /// Points earned inside a return window, not yet spendable (pools included).
    public private(set) var pendingPoints = Points.zero
    /// Points customers owe back (refunds of points already spent).
    public private(set) var debtPoints = Points.zero
    /// Points spent beyond the lots that held them (two cut-off stores spending the same
    /// points; the next credits pay it): taken off `points`, not off any store's row, so
    /// `by_store` sums to `points + overspentPoints`.
    public private(set) var overspentPoints = Points.zero
    /// Spendable points (pools included) by the store whose entry credited the lot.
    public private(set) var byStore: [NodeID: (points: Points, green: Points)] = [:]
    /// Points still to expire (pending included), by the month they expire in: the month of
    /// `asOf` and the eleven after it.
    public private(set) var expirySchedule: [CalendarMonth: Points]
    /// Over the 365 whole UTC days before the day of `asOf` (`breakageDays`): the points
    /// credited whose lots were due to expire in them as credited (`DayCell.creditExpiry`), and
    /// the points left in lots whose expiry fell in them (lots a transfer credited left out of
    /// both: their points were counted where they were earned).
    public private(set) var breakage: (expired: Points, reached: Points) = (.zero, .zero)

    /// How many days breakage looks back.
    public static let breakageWindowDays: Int64 = 365

    /// The UTC days breakage looks at: the 365 before the day of `asOf`, whole days so that the
    /// sums the store keeps by day answer it exactly.
    public var breakageDays: Range<Int64> {
        let today = DayCell.day(of: asOf)
        return (today - Self.breakageWindowDays)..<today
    }

    public init(asOf: Int64) {
        self.asOf = asOf
        var months: [CalendarMonth: Points] = [:]
        var month = CalendarMonth(containing: asOf)
        for _ in 0..<12 {
            months[month] = .zero
            month = month.next
        }
        expirySchedule = months
    }

    /// Adds one account: its counting entries made up to `asOf`, in ledger order, each with
    /// whether it stands on the history held (`EntryCondition`), folded into its lots and debt
    /// as the ledger folds them.
    public mutating func add(_ account: AccountID, entries: [(entry: LedgerEntry, stands: Bool)]) throws(DecodingError) {
        var book = LotBook()
        var debt = Points.zero
        let ledgerAccount = LedgerAccount(account)
        for (entry, stands) in entries where entry.timestamp.wallMilliseconds <= asOf {
            for event in try LotEvents.of(entry, for: account, stands: stands) {
                if case .credit(let lot) = event, !lot.isTransferred, breakageDays.contains(DayCell.day(of: lot.expiresAt)) {
                    breakage.reached += lot.amount
                }
                book.apply(event)
            }
            guard stands else { continue }
            for move in entry.moves where move.asset == .debt {
                if move.credit == ledgerAccount { debt += move.amount }
                if move.debit == ledgerAccount { debt -= move.amount }
            }
        }
        addDebt(debt)
        let isPool = FamilyID.owning(pool: account) != nil
        addOverspent(book.deficit, pool: isPool)
        for lot in book.lots {
            if lot.isExpired(at: asOf) {
                if !lot.isTransferred, breakageDays.contains(DayCell.day(of: lot.expiresAt)) { breakage.expired += lot.remaining }
                continue
            }
            addLots(lot.remaining, store: lot.id.entry.origin, green: lot.green, pool: isPool, expiresAt: lot.expiresAt, pending: lot.isPending(at: asOf))
        }
    }

    /// Adds points held in lots that have not expired at `asOf`: spendable or pending, credited
    /// by `store`'s entry, green or not, in a pool or not, expiring at `expiresAt` (or, for sums
    /// the store keeps by day, any instant of that UTC day: only its month is read).
    public mutating func addLots(_ points: Points, store: NodeID, green: Bool, pool: Bool, expiresAt: Int64, pending: Bool) {
        if let month = expirySchedule.index(forKey: CalendarMonth(containing: expiresAt)) { expirySchedule.values[month] += points }
        if pending {
            pendingPoints += points
            return
        }
        guard points != .zero else { return }
        self.points += points
        if pool { poolPoints += points }
        var row = byStore[store] ?? (.zero, .zero)
        row.points += points
        if green {
            row.green += points
            greenPoints += points
        }
        // A row the sums' corrections bring back to nothing is no row, as in a fold.
        byStore[store] = row.points == .zero && row.green == .zero ? nil : row
    }

    /// Adds an account's deficit: points spent beyond its lots, taken off the spendable points.
    public mutating func addOverspent(_ deficit: Points, pool: Bool) {
        overspentPoints += deficit
        points -= deficit
        if pool { poolPoints -= deficit }
    }

    /// Adds debt customers owe.
    public mutating func addDebt(_ debt: Points) { debtPoints += debt }

    /// Adds to breakage's figures over `breakageDays`.
    public mutating func addBreakage(reached: Points, expired: Points) {
        breakage.reached += reached
        breakage.expired += expired
    }

    /// Expired ÷ reached over the window in millionths, rounded half up (the six decimals the
    /// report shows); nil before any lot reached its expiry.
    public var breakageMicros: Int64? {
        guard breakage.reached > .zero else { return nil }
        return (breakage.expired.value * 2_000_000 + breakage.reached.value) / (2 * breakage.reached.value)
    }

    public var breakageRate: Double? { breakageMicros.map { Double($0) / 1_000_000 } }

    /// The outstanding points (spendable and pending) valued at `value`, less expected
    /// breakage at the rate shown: `gross × (1 − rate)`, in integers, rounded half up, so
    /// anyone recomputes it from the report's figures.
    public func liabilityFen(at value: PointValue) -> Int64 {
        let gross = value.fen(of: points + pendingPoints)
        let kept = gross.multipliedFullWidth(by: 1_000_000 - (breakageMicros ?? 0))
        let (quotient, remainder) = Int64(1_000_000).dividingFullWidth((kept.high, kept.low))
        return quotient + (2 * remainder >= 1_000_000 ? 1 : 0)
    }

    /// The report as the API answers it (docs/contract: `GET /v1/reports/liability`).
    public func json(value: PointValue?, freshness: [OriginFreshness], now: Int64) -> JSONValue {
        .object([
            "as_of": .string(RFC3339.format(milliseconds: asOf)),
            "outstanding": .object([
                "points": .integer(points.value), "green_points": .integer(greenPoints.value), "pool_points": .integer(poolPoints.value),
                "pending_points": .integer(pendingPoints.value), "debt_points": .integer(debtPoints.value),
                "overspent_points": .integer(overspentPoints.value),
            ]),
            "by_store": .array(byStore.keys.sorted().map { store in
                .object(["store": .string(store.rawValue), "points": .integer(byStore[store]?.points.value ?? 0),
                         "green_points": .integer(byStore[store]?.green.value ?? 0)])
            }),
            "expiry_schedule": .array(expirySchedule.keys.sorted().map { month in
                .object(["month": .string(month.description), "points": .integer(expirySchedule[month]?.value ?? 0)])
            }),
            "value": value.map { value in
                .object(["version_id": .string(value.version.rawValue), "points": .integer(value.points.value), "fen": .integer(value.fen.value),
                         "breakage_rate": breakageMicros.map { .string(Self.rate(micros: $0)) } ?? .null,
                         "breakage_expired_points": .integer(breakage.expired.value), "breakage_reached_points": .integer(breakage.reached.value),
                         "gross_fen": .integer(value.fen(of: points + pendingPoints)), "liability_fen": .integer(liabilityFen(at: value))])
            } ?? .null,
            "freshness": .array(freshness.map { $0.json(at: now) }),
        ])
    }

    /// A rate in millionths as text with six decimals.
    static func rate(micros: Int64) -> String {
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
    }
}

extension CalendarMonth {
    /// The month after this one.
    public var next: CalendarMonth {
        var next = self
        if month == 12 {
            next.year += 1
            next.month = 1
        } else {
            next.month += 1
        }
        return next
    }
}
