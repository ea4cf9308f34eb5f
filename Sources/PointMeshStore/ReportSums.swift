import PointMeshCore

/// The sums HQ's reports read instead of every entry, kept in the write transaction:
///
/// - `day_totals`: each `DayCell`'s points, added and taken back by the writer wherever an
///   entry starts or stops counting (`LedgerWriter.count`, `add`), so they always equal the
///   cells of the entries that count and stand.
/// - `lot_totals`: the points left in lots by UTC day of expiry, UTC day of maturity (-1 for a
///   lot earned outside any return window), issuing store, colour, pool or not, and whether a
///   transfer credited them, kept by triggers on `lots`, so every way a lot changes (the lot
///   fold, pairs split, accounts folded again, migrations) keeps them.
///
/// Whole days come from the sums; the part of a day a report cuts (its first and last days, the
/// lots expiring or maturing on the day of `as_of`) from the lots and entries themselves,
/// through the indexes below, so a report reads a few thousand rows whatever the ledger's
/// length. `pointmesh verify` recomputes both and `pointmesh verify --rebuild-report-sums`
/// writes them again.
enum ReportSums {
    static let millisecondsPerDay = CivilCalendar.millisecondsPerDay

    /// The UTC day of a column holding an instant, in SQL (floor division).
    static func day(_ column: String) -> String {
        "((\(column) - (((\(column) % \(millisecondsPerDay)) + \(millisecondsPerDay)) % \(millisecondsPerDay))) / \(millisecondsPerDay))"
    }

    /// The `lot_totals` key of a row of `lots` named `row`, in SQL, colour apart: day of
    /// expiry, day of maturity (-1 without a return window: never pending at any instant a
    /// report reads the sums for, which is after every entry), store, pool, transfer.
    static func lotKey(_ row: String, named: Bool = false) -> String {
        let expressions = [
            day("\(row).expires_at"), "CASE WHEN \(row).matures_at > \(row).earned_at THEN \(day("\(row).matures_at")) ELSE -1 END",
            "\(row).origin", "\(row).account GLOB 'family:?*'", "\(row).source GLOB 'transfer:*'",
        ]
        return (named ? zip(expressions, lotKeyColumnNames).map { "\($0) AS \($1)" } : expressions).joined(separator: ", ")
    }

    static let lotKeyColumnNames = ["expires_day", "matures_day", "origin", "pool", "moved"]
    static let lotKeyColumns = lotKeyColumnNames.joined(separator: ", ")

    /// What a row of `lots` adds to `lot_totals` (`sign` 1) or takes back (-1): the row's own
    /// lot, and a pair's green twin (`LotPair`).
    private static func lotRowSums(_ row: String, sign: Int) -> String {
        let upsert = "ON CONFLICT DO UPDATE SET remaining = remaining + excluded.remaining"
        return """
            INSERT INTO lot_totals (\(lotKeyColumns), green, remaining) SELECT \(lotKey(row)), \(row).green, \(sign) * \(row).remaining WHERE true \(upsert);
            INSERT INTO lot_totals (\(lotKeyColumns), green, remaining) SELECT \(lotKey(row)), 1, \(sign) * \(row).twin_remaining WHERE \(row).twin_remaining != 0 \(upsert);
            """
    }

    /// Every lot in `lots` with its `lot_totals` key, colour and remaining points (a pair's row
    /// gives two).
    static let lotRows = """
        SELECT \(lotKey("lots", named: true)), green, remaining FROM lots
        UNION ALL SELECT \(lotKey("lots")), 1, twin_remaining FROM lots WHERE twin_remaining != 0
        """

    /// Migration "report-sums": the tables, the triggers and the indexes.
    static let schema = """
        CREATE TABLE day_totals (
            day       INTEGER NOT NULL,
            dimension INTEGER NOT NULL,
            key       TEXT    NOT NULL,
            figure    TEXT    NOT NULL,
            points    INTEGER NOT NULL,
            PRIMARY KEY (day, dimension, key, figure)
        ) WITHOUT ROWID;
        CREATE TABLE lot_totals (
            expires_day INTEGER NOT NULL,
            matures_day INTEGER NOT NULL,
            origin      TEXT    NOT NULL,
            pool        INTEGER NOT NULL,
            moved       INTEGER NOT NULL,
            green       INTEGER NOT NULL,
            remaining   INTEGER NOT NULL,
            PRIMARY KEY (expires_day, matures_day, origin, pool, moved, green)
        ) WITHOUT ROWID;
        CREATE TRIGGER lot_totals_insert AFTER INSERT ON lots BEGIN
        \(lotRowSums("NEW", sign: 1))
        END;
        CREATE TRIGGER lot_totals_update AFTER UPDATE ON lots BEGIN
        \(lotRowSums("OLD", sign: -1))
        \(lotRowSums("NEW", sign: 1))
        END;
        CREATE TRIGGER lot_totals_delete AFTER DELETE ON lots BEGIN
        \(lotRowSums("OLD", sign: -1))
        END;
        CREATE INDEX lots_by_expiry ON lots (expires_at);
        CREATE INDEX lots_pending ON lots (matures_at) WHERE matures_at > earned_at;
        CREATE INDEX ledger_entries_by_time ON ledger_entries (hlc_wall);
        """

    /// Migration "report-sums": the schema, then both sums filled from the ledger.
    static func create(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute(schema)
        try fill(connection, progress: progress)
    }

    /// Writes both sums again from the lots and from every entry that counts and stands, with
    /// progress every million entries.
    static func fill(_ connection: SQLiteConnection, progress: (String) -> Void) throws {
        try connection.execute("DELETE FROM lot_totals; DELETE FROM day_totals")
        try connection.execute("""
            INSERT INTO lot_totals (\(lotKeyColumns), green, remaining)
            SELECT \(lotKeyColumns), green, SUM(remaining) FROM (\(lotRows)) GROUP BY \(lotKeyColumns), green
            """)
        let writer = LedgerWriter(connection: connection)
        var done = 0
        try writer.reader.forEachCountingEntry { entry in
            try writer.addDayCells(of: entry, sign: 1)
            done += 1
            if done % 1_000_000 == 0 {
                try writer.flushDayCells()
                progress("report sums: \(done) entries")
            }
        }
        try writer.flushDayCells()
    }
}

extension LedgerWriter {
    /// Adds (`sign` 1) or takes back (-1) an entry's report figures in the pending day cells.
    func addDayCells(of entry: LedgerEntry, sign: Int64) throws {
        do {
            try DayCell.add(entry, sign: sign, to: &pendingDayCells)
        } catch {
            throw StoreError.corruptRow("entry \(entry.id): its report figures do not read: \(error)")
        }
    }

    /// Writes the pending day cells, one statement for up to 100 of them.
    public func flushDayCells() throws {
        let cells = pendingDayCells.filter { $0.value != .zero }
        pendingDayCells = [:]
        var rows = cells.makeIterator()
        while true {
            var values: [SQLiteStatement.Value] = []
            while values.count < 500, let (cell, points) = rows.next() {
                values += [.integer(cell.day), .integer(Int64(cell.dimension.rawValue)), .text(cell.key), .text(cell.figure), .integer(points.value)]
            }
            guard !values.isEmpty else { return }
            try connection.run("""
                INSERT INTO day_totals (day, dimension, key, figure, points) VALUES \(Array(repeating: "(?,?,?,?,?)", count: values.count / 5).joined(separator: ","))
                ON CONFLICT DO UPDATE SET points = points + excluded.points
                """, values: values)
        }
    }
}

extension LedgerReader {
    /// Calls `body` with every entry that counts and stands, in storage order.
    func forEachCountingEntry(_ body: (LedgerEntry) throws -> Void) throws {
        let void = try voidEntries()
        try connection.withStatement("SELECT body FROM ledger_entries WHERE duplicate = 0", []) { row in
            while try row.step() {
                let entry = try Self.decode(row)
                if !void.contains(entry.id) { try body(entry) }
            }
        }
    }

    /// The kept sums of `days`' cells.
    public func dayCells(days: Range<Int64>, dimensions: [DayCell.Dimension]) throws -> [(DayCell, Points)] {
        guard !days.isEmpty else { return [] }
        return try connection.all("""
            SELECT day, dimension, key, figure, points FROM day_totals
            WHERE day >= ? AND day < ? AND dimension IN (\(dimensions.map { String($0.rawValue) }.joined(separator: ","))) AND points != 0
            """, .integer(days.lowerBound), .integer(days.upperBound)) { row -> (DayCell, Points)? in
            guard let dimension = DayCell.Dimension(rawValue: Int(row.int64(1))) else { return nil }
            return (DayCell(day: row.int64(0), dimension: dimension, key: row.text(2), figure: row.text(3)), Points(row.int64(4)))
        }.compactMap { $0 }
    }

    /// The instant of the newest entry held (nil: none).
    public func newestEntryTime() throws -> Int64? {
        try connection.first("SELECT MAX(hlc_wall) FROM ledger_entries") { $0.optionalInt64(0) } ?? nil
    }

    /// The liability at `asOf` from the kept sums, equal to `liability(asOf:)` when no entry held
    /// was made after `asOf` (the caller checks: the sums are of every entry held). Lots by whole
    /// days of expiry and maturity from `lot_totals`; those expiring later on the day of `asOf`,
    /// and those maturing on it, one by one through their indexes.
    public func liabilityFromSums(asOf: Int64) throws -> LiabilityReport {
        var report = LiabilityReport(asOf: asOf)
        let today = DayCell.day(of: asOf), tomorrow = DayCell.start(of: today + 1)
        try connection.withStatement("""
            SELECT expires_day, matures_day > ?1, origin, green, pool, SUM(remaining) FROM lot_totals
            WHERE expires_day > ?1 AND matures_day != ?1 GROUP BY 1, 2, 3, 4, 5
            """, [.integer(today)]) { row in
            while try row.step() {
                report.addLots(Points(row.int64(5)), store: NodeID(unchecked: row.text(2)), green: row.int64(3) == 1, pool: row.int64(4) == 1,
                               expiresAt: DayCell.start(of: row.int64(0)), pending: row.int64(1) == 1)
            }
        }
        func addLots(where condition: String, _ values: [SQLiteStatement.Value]) throws {
            try connection.withStatement("""
                SELECT origin, account GLOB 'family:?*', green, remaining, twin_remaining, expires_at, matures_at FROM lots WHERE \(condition)
                """, values) { row in
                while try row.step() {
                    let store = NodeID(unchecked: row.text(0)), pool = row.int64(1) == 1, expiresAt = row.int64(5), pending = row.int64(6) > asOf
                    report.addLots(Points(row.int64(3)), store: store, green: row.int64(2) == 1, pool: pool, expiresAt: expiresAt, pending: pending)
                    report.addLots(Points(row.int64(4)), store: store, green: true, pool: pool, expiresAt: expiresAt, pending: pending)
                }
            }
        }
        try addLots(where: "expires_at > ? AND expires_at < ?", [.integer(asOf), .integer(tomorrow)])
        try addLots(where: "matures_at >= ? AND matures_at < ? AND matures_at > earned_at AND expires_at >= ?",
                    [.integer(DayCell.start(of: today)), .integer(tomorrow), .integer(tomorrow)])
        try connection.withStatement("SELECT account, deficit FROM lot_deficits", []) { row in
            while try row.step() { report.addOverspent(Points(row.int64(1)), pool: FamilyID.owning(pool: AccountID(unchecked: row.text(0))) != nil) }
        }
        report.addDebt(Points(try connection.first("""
            SELECT COALESCE(SUM(credits_posted - debits_posted), 0) FROM balances WHERE asset = ? AND account NOT GLOB '@*'
            """, .integer(Int64(Asset.debt.code))) { $0.int64(0) } ?? 0))
        let window = report.breakageDays
        let reached = try connection.first("SELECT COALESCE(SUM(points), 0) FROM day_totals WHERE dimension = ? AND day >= ? AND day < ?",
                                           .integer(Int64(DayCell.Dimension.creditExpiry.rawValue)), .integer(window.lowerBound),
                                           .integer(window.upperBound)) { $0.int64(0) } ?? 0
        let expired = try connection.first("SELECT COALESCE(SUM(remaining), 0) FROM lot_totals WHERE moved = 0 AND expires_day >= ? AND expires_day < ?",
                                           .integer(window.lowerBound), .integer(window.upperBound)) { $0.int64(0) } ?? 0
        report.addBreakage(reached: Points(reached), expired: Points(expired))
        return report
    }

    /// The points left in lots when they expired in `period`, by the store whose entry
    /// credited each lot and the instant (for whole days, the day's start): whole days from
    /// `lot_totals`, the parts of days the period cuts from the lots.
    public func expiredLots(during period: Range<Int64>) throws -> [(points: Points, expiresAt: Int64, store: NodeID)] {
        let days = DayCell.wholeDays(in: period)
        var lots = try connection.all("""
            SELECT expires_day, origin, SUM(remaining) FROM lot_totals WHERE expires_day >= ? AND expires_day < ? GROUP BY expires_day, origin
            """, .integer(days.lowerBound), .integer(days.upperBound)) { (Points($0.int64(2)), DayCell.start(of: $0.int64(0)), NodeID(unchecked: $0.text(1))) }
        for part in DayCell.partialDays(of: period) {
            lots += try connection.all("SELECT origin, expires_at, remaining + twin_remaining FROM lots WHERE expires_at >= ? AND expires_at < ?",
                                       .integer(part.lowerBound), .integer(part.upperBound)) {
                (Points($0.int64(2)), $0.int64(1), NodeID(unchecked: $0.text(0)))
            }
        }
        return lots
    }
}

extension LedgerStore {
    /// Writes the report sums again from the lots and the entries of the ledger in `directory`,
    /// in one transaction, holding the directory's lock (so no node serves it meanwhile).
    public static func rebuildReportSums(in directory: String, progress: (String) -> Void) throws {
        let lock = try DataDirectoryLock(directory: directory)
        defer { lock.release() }
        let writer = try LedgerWriter.open(path: databasePath(in: directory), progress: progress)
        defer { writer.connection.close() }
        try writer.connection.transaction { try ReportSums.fill(writer.connection, progress: progress) }
    }
}
