import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshSimulation
import PointMeshStore

/// How long HQ's reports take over a large ledger, against a raw SQLite scan of as many rows
/// measured in the same run.
enum ReportsBench: Command {
    static let name = "reports"
    static let summary = "HQ's reports over a ledger of N entries, against a raw SQLite scan of N rows"
    static let entries = Option("entries", .value("N"), "entries in the ledger (default 10000000)")
    static let accounts = Option("accounts", .value("N"), "customer accounts the entries are spread over (default 100000)")
    static let ledger = Option("ledger", .value("DIR"),
                               "keep the generated ledger in DIR and use it again on the next run with the same --entries and --accounts (default: generated in the scratch directory, removed at the end)")
    static let repeats = Option("repeats", .value("N"), "times each report is asked for; the median is reported (default 5)")
    static let options: [Option] = [entries, accounts, ledger, repeats, Bench.directory]
    static let description = """
        Writes a history of N entries straight into a ledger (not timed): ten stores over two
        years ending now, under the standard expiry policy (lots expire at the end of the 12th
        full month after earning), two campaigns and two rewards; about 70% purchases, 18%
        redemptions of points, 5% of rewards, 3% refunds, 4% compensations. Then a node serves
        it, and each report is asked for over HTTP (every byte of the answer read): the
        liability now, the activity of the last 30 days by day and of the last year by store,
        campaign and reward, and the liability at the end of last month. Prints each report's median time
        and its ratio to the baseline: SUM over a column of a minimal SQLite table of N rows.
        The liability at an instant before the newest entry folds every account: it is asked
        once, last.
        """

    static let stores = (0..<10).map { NodeID(unchecked: "store-\($0)") }
    static let day = CivilCalendar.millisecondsPerDay

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let count = Int(try arguments.integer(Self.entries) ?? 10_000_000)
        let customers = Int(try arguments.integer(Self.accounts) ?? 100_000)
        let repeats = Int(try arguments.integer(Self.repeats) ?? 5)
        guard count > 0, customers > 0, repeats > 0 else { throw UsageError(message: "--entries, --accounts and --repeats must be positive") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let directory = arguments.value(Self.ledger) ?? scratch + "/hq"
        let stamp = "\(count) entries over \(customers) accounts\n"
        let stampPath = directory + "/reports-bench"
        if (try? String(contentsOfFile: stampPath, encoding: .utf8)) != stamp {
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let started = DispatchTime.now()
            try generate(count: count, customers: customers, in: directory)
            try stamp.write(toFile: stampPath, atomically: true, encoding: .utf8)
            print(String(format: "generated %d entries in %.0f s", count, Bench.seconds(since: started)))
        } else {
            print("using the ledger in \(directory) (\(stamp.dropLast()))")
        }

        let baseline = try SQLiteBaseline.scan(path: scratch + "/baseline.sqlite", rows: count, repeats: repeats)
        print(String(format: "baseline  raw SQLite, SUM over %d rows of a minimal table: %8.1f ms", count, baseline))

        let node = try BenchNode(dataDirectory: directory, arguments: ["--node-id", "hq", "--role", "hq"])
        defer { node.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let monthEnd = CivilCalendar.startOfMonth(0, after: now)
        // The liability before the newest entry folds every account (docs/rules.md, section 14):
        // asked once, with a long timeout.
        let queries: [(label: String, path: String, times: Int)] = [
            ("liability now", "/v1/reports/liability", repeats),
            ("activity, 30 days by day", "/v1/reports/activity?from=\(RFC3339.format(milliseconds: now - 30 * day))&to=\(RFC3339.format(milliseconds: now))&by=day", repeats),
            ("activity, a year by store", "/v1/reports/activity?from=\(RFC3339.format(milliseconds: now - 365 * day))&to=\(RFC3339.format(milliseconds: now))&by=store", repeats),
            ("activity, a year by campaign", "/v1/reports/activity?from=\(RFC3339.format(milliseconds: now - 365 * day))&to=\(RFC3339.format(milliseconds: now))&by=campaign", repeats),
            ("activity, a year by reward", "/v1/reports/activity?from=\(RFC3339.format(milliseconds: now - 365 * day))&to=\(RFC3339.format(milliseconds: now))&by=reward", repeats),
            ("liability at the end of last month", "/v1/reports/liability?as_of=\(RFC3339.format(milliseconds: monthEnd))", 1),
        ]
        let http = HTTPClient(address: node.httpAddress, timeoutMilliseconds: 3_600_000)
        var slowest = 0.0
        for (label, path, count) in queries {
            var times: [Double] = []
            for _ in 0..<count {
                let started = DispatchTime.now()
                let response = try http.send("GET", path)
                times.append(Bench.seconds(since: started) * 1000)
                guard response.status == 200 else { throw UsageError(message: "\(path) answered \(response.status): \(response.bodyText.prefix(500))") }
            }
            let median = times.sorted()[times.count / 2]
            if count > 1 { slowest = max(slowest, median) }
            print(String(format: "%@ median %8.1f ms (first %8.1f ms, %d asked)   ratio to baseline %.2fx",
                         label.padding(toLength: 38, withPad: " ", startingAt: 0) as NSString, median, times[0], count, median / baseline))
        }
        print(String(format: "slowest report from the sums: %.2f s (goal under 2 s); node peak RSS %d MiB", slowest / 1000, node.peakRSSKilobytes() / 1024))
        return 0
    }

    /// The history, decided by the rules against the ledger as it grows and appended in
    /// transactions of 2,000 entries, with progress every million.
    static func generate(count: Int, customers: Int, in directory: String) throws {
        let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
        defer { database.connection.close() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = now - 730 * day
        let hq = NodeID(unchecked: "hq")
        var random = SplitMix64(seed: 7)
        var sequences: [NodeID: Int64] = [:]
        var receipts: [(receipt: ReceiptID, fen: Int64)] = []
        var written = 0, refused = 0, step = 0
        func decideAndAppend(_ write: PreparedWrite, at instant: Int64, by node: NodeID) throws {
            let sequence = (sequences[node] ?? 0) + 1
            let context = RequestContext(node: node, now: instant, settings: NodeSettings(returnWindow: 14 * day))
            do {
                let decision = try LedgerRules.decide(write, from: database, id: EntryID(origin: node, sequence: sequence),
                                                      timestamp: HLCTimestamp(wallMilliseconds: instant, logical: 0), context: context)
                guard case .append(let entry) = decision else { return }
                try database.append(entry)
                sequences[node] = sequence
                written += 1
            } catch is LedgerError {
                refused += 1
            }
        }
        let campaigns = [
            Campaign(id: CampaignID(unchecked: "spring"), name: "Spring", startsAt: start + 300 * day, endsAt: start + 330 * day, effect: .multiplier(2)),
            Campaign(id: CampaignID(unchecked: "autumn"), name: "Autumn", startsAt: start + 640 * day, endsAt: start + 700 * day, effect: .bonus(Points(50))),
        ]
        let rewards = [Reward(id: RequestID(unchecked: "mug"), name: "Mug", points: Points(300), kind: .goods),
                       Reward(id: RequestID(unchecked: "voucher"), name: "Voucher", points: Points(500), kind: .voucher)]
        try database.connection.transaction {
            for campaign in campaigns { try decideAndAppend(PreparedWrite(CampaignDefinition.self, campaign), at: start - day + Int64(written), by: hq) }
            for reward in rewards { try decideAndAppend(PreparedWrite(RewardDefinition.self, reward), at: start - day + Int64(written), by: hq) }
        }
        while written < count {
            try database.connection.transaction {
                for _ in 0..<2_000 where written < count {
                    step += 1
                    let instant = start + Int64(Double(written) / Double(count) * Double(730 * day))
                    let store = stores[Int(random.next() % UInt64(stores.count))]
                    let account = AccountID(unchecked: "c\(random.next() % UInt64(customers))")
                    let roll = random.next() % 100
                    let write: PreparedWrite
                    switch roll {
                    case 0..<70:
                        let receipt = ReceiptID(unchecked: "R\(step)"), fen = Int64(1_000 + random.next() % 30_000)
                        receipts.append((receipt, fen))
                        if receipts.count > 10_000 { receipts.removeFirst(5_000) }
                        write = PreparedWrite(Earn.self, Earn.Request(receipt: receipt, account: account, amount: Fen(fen)))
                    case 70..<88:
                        write = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(step)"), account: account,
                                                                                  points: Points(Int64(20 + random.next() % 200))))
                    case 88..<93:
                        write = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(step)"), account: account, points: nil,
                                                                                  reward: rewards[Int(random.next() % 2)].id))
                    case 93..<96 where !receipts.isEmpty:
                        let purchase = receipts[Int(random.next() % UInt64(receipts.count))]
                        write = PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F\(step)"), receipt: purchase.receipt,
                                                                          amount: Fen(max(1, purchase.fen / 2))))
                    default:
                        write = PreparedWrite(Compensation.self, Compensation.Request(batch: RequestID(unchecked: "K\(step)"), part: nil, action: .grant,
                                                                                      reason: "late delivery", reference: "T\(step)", accounts: [account],
                                                                                      expiring: nil, days: nil, points: Points(50)))
                    }
                    try decideAndAppend(write, at: instant, by: store)
                }
            }
            if written / 1_000_000 != (written - 2_000) / 1_000_000 { print("  … \(written) of \(count) entries (\(refused) refused by the rules)") }
        }
    }
}
