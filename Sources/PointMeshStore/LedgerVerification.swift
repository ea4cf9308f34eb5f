import PointMeshCore

/// One disagreement between the stored counters and the counters recomputed from entries, or
/// a hole in an origin's sequence.
public struct VerificationProblem: Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// Checks a ledger against itself through a reader: what it recomputes from the entries is
/// what the writer keeps, so any difference is a bug or a damaged file.
public struct LedgerVerifier {
    let reader: LedgerReader
    var connection: SQLiteConnection { reader.connection }

    public init(reader: LedgerReader) {
        self.reader = reader
    }

    /// Recomputes every balance counter from the moves of the entries that count, with the same
    /// `MoveEffects` the writes use, and every origin's hash chain from the entries' bytes, and
    /// compares; checks that each origin's sequence has no gaps and that balances over all
    /// accounts sum to zero. An empty result means the ledger
    /// is consistent.
    public func verify() throws -> [VerificationProblem] {
        // One read transaction: beside a running node, every query sees the same commit.
        try reader.snapshot { try verifySnapshot() }
    }

    private func verifySnapshot() throws -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        var recomputed: [String: Balance] = [:]
        /// Customers' points as their entries' moves add up (they have no counters: their lots
        /// must hold exactly this).
        var customerPoints: [AccountID: Points] = [:]
        var chains: [NodeID: OriginChain] = [:]
        var dayCells: [DayCell: Points] = [:]
        let keptVoid = try reader.voidEntries()
        var after: (origin: String, seq: Int64) = ("", 0)
        while true {
            let page = try connection.all(
                "SELECT origin, seq, body, duplicate, chain FROM ledger_entries WHERE (origin, seq) > (?, ?) ORDER BY origin, seq LIMIT 10000",
                .text(after.origin), .integer(after.seq)
            ) { row in (row.text(0), row.int64(1), row.blob(2), row.int64(3) == 1, row.blob(4)) }
            guard let last = page.last else { break }
            for (origin, sequence, body, duplicate, stored) in page {
                let node = NodeID(unchecked: origin)
                let chain = (chains[node] ?? .empty).extended(sequence: sequence, bytes: body)
                chains[node] = chain
                if chain.hash != stored {
                    problems.append(VerificationProblem(description: "entry \(origin):\(sequence): its hash chain does not match the entries' bytes"))
                }
                guard !duplicate else { continue }
                let entry = try EntryCoding.decode(body)
                // A transfer the converged membership contradicts and a refund past its purchase
                // move nothing at all.
                let stands = try EntryCondition.stands(entry, in: reader)
                if stands {
                    do {
                        try DayCell.add(entry, sign: 1, to: &dayCells)
                    } catch {
                        problems.append(VerificationProblem(description: "entry \(origin):\(sequence): its report figures do not read: \(error)"))
                    }
                }
                if keptVoid.contains(entry.id) == stands {
                    problems.append(VerificationProblem(description: "entry \(origin):\(sequence): kept as \(stands ? "void" : "standing"), but the converged history says otherwise (its purchase's refunds, or its parties' families)"))
                }
                for (key, delta) in MoveEffects.deltas(of: entry.moves) {
                    if MoveEffects.isCounted(key) {
                        guard stands else { continue }
                        recomputed[Self.counterName(key, origin), default: Balance()] += delta
                    } else if let customer = key.account.customer, stands {
                        customerPoints[customer, default: .zero] += delta.posted
                    }
                }
            }
            after = (last.0, last.1)
        }
        var stored: [String: Balance] = [:]
        var totals: [UInt64: Balance] = [:]
        try connection.withStatement("SELECT account, asset, origin, debits_posted, credits_posted, debits_pending, credits_pending FROM balances") { row in
            while try row.step() {
                let balance = Balance(debitsPosted: row.int64(3), creditsPosted: row.int64(4), debitsPending: row.int64(5), creditsPending: row.int64(6))
                let key = BalanceKey(LedgerAccount(unchecked: row.text(0)), Asset(code: UInt64(bitPattern: row.int64(1))))
                stored[Self.counterName(key, row.text(2))] = balance
                totals[key.asset.code, default: Balance()] += balance
            }
        }
        // Rows whose totals are all zero say nothing (a counter of only taken-back duplicates),
        // so both sides leave them out.
        for name in Set(recomputed.keys).union(stored.keys).sorted() {
            let want = recomputed[name] ?? Balance(), have = stored[name] ?? Balance()
            if want != have {
                problems.append(VerificationProblem(description: "counter \(name): stored \(have), entries imply \(want)"))
            }
        }
        // Customers' points are their lots (remainders less deficits), not counters.
        let lotPoints = try connection.first("SELECT COALESCE((SELECT SUM(remaining + twin_remaining) FROM lots), 0) - COALESCE((SELECT SUM(deficit) FROM lot_deficits), 0)") {
            $0.int64(0)
        } ?? 0
        totals[Asset.points.code, default: Balance()] += Balance(creditsPosted: lotPoints)
        for (asset, total) in totals.sorted(by: { $0.key < $1.key }) where total.posted != .zero || total.creditsPending != total.debitsPending {
            problems.append(VerificationProblem(description: "asset \(Asset(code: asset)) does not sum to zero over all accounts: \(total)"))
        }
        problems += try verifyLots(points: customerPoints)
        problems += try verifyReportSums(dayCells: dayCells)
        if let (entries, fed, distinct) = try connection.first("""
            SELECT (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM feed),
                   (SELECT COUNT(*) FROM (SELECT DISTINCT f.origin, f.seq FROM feed f JOIN ledger_entries e ON e.origin = f.origin AND e.seq = f.seq))
            """, row: { ($0.int64(0), $0.int64(1), $0.int64(2)) }), entries != fed || fed != distinct {
            problems.append(VerificationProblem(description: "the feed lists \(fed) positions for \(distinct) of the \(entries) entries held: each must be listed once"))
        }
        problems += try connection.all(
            "SELECT origin, COUNT(*), MAX(seq) FROM ledger_entries GROUP BY origin HAVING COUNT(*) != MAX(seq)"
        ) { row in
            VerificationProblem(description: "origin \(row.text(0)) has gaps: \(row.int64(1)) entries up to sequence \(row.int64(2))")
        }
        return problems
    }

    /// Each account's kept lots against a fold of its entries, and against its points as the
    /// moves of its entries add up: open lots less deficit must equal credits − debits.
    private func verifyLots(points: [AccountID: Points]) throws -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        let accounts = try connection.all("SELECT DISTINCT account FROM entry_accounts ORDER BY account") { AccountID(unchecked: $0.text(0)) }
        var cache = LotEventCache()
        let fold = LotFold(reader: reader)
        for account in accounts {
            let kept = try reader.lotBook(of: account), folded = try fold.foldedLots(of: account, cache: &cache)
            if kept != folded {
                problems.append(VerificationProblem(description: "account \(account): kept lots \(kept.lots.count) (deficit \(kept.deficit)) differ from a fold of its entries: \(folded.lots.count) (deficit \(folded.deficit))"))
            }
            let held = folded.lots.reduce(Points.zero) { $0 + $1.remaining } - folded.deficit
            if held != points[account, default: .zero] {
                problems.append(VerificationProblem(description: "account \(account): lots hold \(held) points but its entries' moves say \(points[account, default: .zero])"))
            }
        }
        return problems
    }

    /// The report sums (`ReportSums`) against the cells of the entries that count and stand, and
    /// against the lots.
    private func verifyReportSums(dayCells: [DayCell: Points]) throws -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        var kept: [DayCell: Points] = [:]
        for (cell, points) in try reader.dayCells(days: Int64.min..<Int64.max, dimensions: DayCell.Dimension.allCases) { kept[cell] = points }
        let recomputed = dayCells.filter { $0.value != .zero }
        if kept != recomputed {
            let differing = Set(kept.keys).union(recomputed.keys).filter { kept[$0] != recomputed[$0] }
            for cell in differing.sorted(by: { ($0.day, $0.dimension.rawValue, $0.key, $0.figure) < ($1.day, $1.dimension.rawValue, $1.key, $1.figure) }).prefix(20) {
                problems.append(VerificationProblem(description: "report sum \(cell.dimension) \(cell.key) \(cell.figure) on day \(ActivityReport.day(DayCell.start(of: cell.day))): kept \(kept[cell] ?? .zero), entries imply \(recomputed[cell] ?? .zero) (pointmesh verify --rebuild-report-sums writes them again)"))
            }
        }
        func sums(_ query: String) throws -> [String: Int64] {
            Dictionary(try connection.all(query) { row in
                ("day \(row.int64(0)) maturing \(row.int64(1)) store \(row.text(2)) pool \(row.int64(3)) moved \(row.int64(4)) green \(row.int64(5))", row.int64(6))
            }, uniquingKeysWith: +).filter { $0.value != 0 }
        }
        let keptLots = try sums("SELECT \(ReportSums.lotKeyColumns), green, remaining FROM lot_totals")
        let lotSums = try sums(ReportSums.lotRows)
        for key in Set(keptLots.keys).union(lotSums.keys).sorted() where keptLots[key] != lotSums[key] {
            problems.append(VerificationProblem(description: "points left in lots by expiry, \(key): kept \(keptLots[key] ?? 0), the lots hold \(lotSums[key] ?? 0) (pointmesh verify --rebuild-report-sums writes them again)"))
        }
        return problems
    }

    private static func counterName(_ key: BalanceKey, _ origin: String) -> String {
        "account=\(key.account.name) asset=\(key.asset) origin=\(origin)"
    }
}
