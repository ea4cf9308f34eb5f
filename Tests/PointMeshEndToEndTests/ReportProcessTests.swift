import Foundation
import PointMeshHTTP
import Synchronization
import Testing

private let day: Int64 = 86_400_000

/// HQ's reports on real nodes, checked against a recomputation from what the API shows of each
/// account (its view, its history with expiry lines, its lots), never from the report code.
@Suite(.serialized) struct ReportProcessTests {
    /// Entries the generated history holds at least: `POINTMESH_REPORT_ENTRIES` for another size.
    static let entries = ProcessInfo.processInfo.environment["POINTMESH_REPORT_ENTRIES"].flatMap(Int.init) ?? 50_000
    static let customers = 400, families = 12

    /// A history of every kind over four months of a rehearsal clock (purchases with items and
    /// green lines, a backdated campaign and its late credits, redemptions of points, rewards and
    /// pools, refunds past what was left (debt), transfers, auto-pooled earnings, deductions,
    /// compensations, expiry), then: the liability now and at an earlier instant, and the
    /// activity by day, store, campaign and reward, each equal to the recomputation; a second
    /// node that holds the same entries answers the same CSV bytes; with the first stopped, the
    /// second names it behind.
    @Test func reportsEqualARecomputationFromTheAccounts() throws {
        let clock = SharedClock()
        let hq = try NodeProcess(extraArguments: ["--node-id", "hq1", "--role", "hq", "--clock-offset-file", clock.path, "--transfer-cooling-off-days", "0",
                                                  "--return-window-days", "2", "--gossip-interval-ms", "200"])
        defer { hq.stop(); hq.removeFiles() }
        let start = clock.now
        try setUpCatalog(hq, clock: clock)
        var written = 0, phase = 0
        var receipts: [Receipt] = []
        var earlier: (asOf: String, liability: [String: Any])?
        while written < Self.entries {
            let (count, rung) = generate(hq, count: min(Self.entries - written, Self.entries / 4 + 1), phase: phase, older: receipts)
            written += count
            receipts += rung
            if phase == 1 {
                // A campaign published now that began before: late credits for the receipts rung up since.
                let begun = RFC3339Text(clock.now - 20 * day)
                let campaign = #"{"name":"Spring","starts_at":"\#(begun)","ends_at":"2099-01-01T00:00:00Z","multiplier":2,"backdate_reason":"launched late"}"#
                #expect(try send(hq, "PUT", "/v1/campaigns/spring", campaign).status == 201)
                try settle(hq)
                let asOf = RFC3339Text(clock.now)
                earlier = (asOf, try hq.client().getJSON("/v1/reports/liability?as_of=\(asOf)"))
            }
            clock.set(clock.offset + 25 * day)
            phase += 1
        }
        try settle(hq)
        let status = try hq.client().getJSON("/v1/status")
        #expect((status["entries"] as? Int ?? 0) >= Self.entries, "\(status["entries"] ?? "?") entries")

        let accounts = (0..<Self.customers).map { "c\($0)" } + (0..<Self.families).map { "family:f\($0)" }
        let histories = try Dictionary(uniqueKeysWithValues: accounts.map { ($0, try history(hq, $0)) })

        // The liability now: the sums of the accounts' views.
        let liability = try hq.client().getJSON("/v1/reports/liability")
        let outstanding = liability["outstanding"] as? [String: Int] ?? [:]
        let views = try accounts.map { try hq.client().getJSON("/v1/accounts/\($0)") }
        func sum(_ field: String, pools: Bool? = nil) -> Int {
            zip(accounts, views).filter { pools == nil || $0.0.hasPrefix("family:") == pools }.reduce(0) { $0 + ($1.1[field] as? Int ?? 0) }
        }
        #expect(outstanding["points"] == sum("balance") && outstanding["pool_points"] == sum("balance", pools: true), "\(outstanding)")
        #expect(outstanding["green_points"] == sum("green_balance") && outstanding["pending_points"] == sum("pending"), "\(outstanding)")
        #expect(outstanding["debt_points"] == sum("debt") && sum("debt") > 0, "\(outstanding) debt \(sum("debt"))")
        let byStore = liability["by_store"] as? [[String: Any]] ?? []
        #expect(byStore.reduce(0) { $0 + ($1["points"] as? Int ?? 0) } == (outstanding["points"] ?? 0) + (outstanding["overspent_points"] ?? 0))
        // The expiry schedule: the lots listing summed by month, after now.
        let schedule = liability["expiry_schedule"] as? [[String: Any]] ?? []
        let listed = try lotsByMonth(hq, from: clock.now + 1, to: clock.now + 400 * day)
        for row in schedule {
            let month = row["month"] as? String ?? ""
            #expect(row["points"] as? Int == listed[month, default: 0], "expiring in \(month)")
        }
        #expect(schedule.reduce(0) { $0 + ($1["points"] as? Int ?? 0) } > 0)

        // The liability at an earlier instant: every history's points up to it (expiry lines included).
        if let (asOf, report) = earlier {
            let then = report["outstanding"] as? [String: Int] ?? [:]
            let heldThen = histories.values.joined().filter { ($0["created_at"] as? String ?? "") <= asOf && $0["duplicate"] as? Bool != true }
                .reduce(0) { $0 + ($1["balance_delta"] as? Int ?? 0) }
            let debtThen = histories.values.joined().filter { ($0["created_at"] as? String ?? "") <= asOf && $0["duplicate"] as? Bool != true }
                .reduce(0) { $0 + ($1["debt_delta"] as? Int ?? 0) }
            #expect((then["points"] ?? 0) + (then["pending_points"] ?? 0) == heldThen, "at \(asOf): \(then), histories \(heldThen)")
            #expect(then["debt_points"] == debtThen, "at \(asOf): \(then), histories \(debtThen)")
        }

        // The activity of the whole period: the entries in the histories, each once.
        let from = RFC3339Text(start - day), to = RFC3339Text(clock.now + day)
        let byDay = try hq.client().getJSON("/v1/reports/activity?from=\(from)&to=\(to)&by=day")
        let total = byDay["total"] as? [String: Any] ?? [:]
        let expected = recompute(histories)
        for (field, value) in expected {
            #expect(total[field] as? Int == value, "\(field): report \(total[field] ?? "none"), histories \(value)")
        }
        for field in ["issued", "redeemed", "expired", "refunded", "compensated", "deducted", "transferred", "issued_by_campaigns", "pooled", "debt_repaid",
                      "green_issued"] {
            #expect(expected[field, default: 0] > 0, "the history has no \(field)")
        }
        let byStoreActivity = try hq.client().getJSON("/v1/reports/activity?from=\(from)&to=\(to)&by=store")
        #expect(NSDictionary(dictionary: byStoreActivity["total"] as? [String: Any] ?? [:]).isEqual(to: total.merging(["key": "total"]) { $1 }))
        let byCampaign = try hq.client().getJSON("/v1/reports/activity?from=\(from)&to=\(to)&by=campaign")
        #expect((byCampaign["rows"] as? [[String: Any]])?.map { $0["key"] as? String } == ["spring"])
        #expect((byCampaign["total"] as? [String: Any])?["issued_by_campaigns"] as? Int == total["issued_by_campaigns"] as? Int)
        let byReward = try hq.client().getJSON("/v1/reports/activity?from=\(from)&to=\(to)&by=reward")
        let rewards = byReward["rows"] as? [[String: Any]] ?? []
        #expect(rewards.map { $0["key"] as? String } == ["mug", "points"] && rewards.first?["reward_kind"] as? String == "goods", "\(rewards)")
        #expect((byReward["total"] as? [String: Any])?["redeemed"] as? Int == total["redeemed"] as? Int)

        // A second node holding the same entries: the same CSV, byte for byte.
        let copy = try NodeProcess(extraArguments: ["--node-id", "hq2", "--role", "hq", "--clock-offset-file", clock.path, "--seed", hq.gossipAddress.description,
                                                    "--gossip-interval-ms", "200"])
        defer { copy.stop(); copy.removeFiles() }
        #expect(eventually(within: 120) { try copy.client().getJSON("/v1/status")["digest"] as? String == status["digest"] as? String })
        let asOf = RFC3339Text(clock.now)
        for path in ["/v1/reports/liability?as_of=\(asOf)&format=csv", "/v1/reports/activity?from=\(from)&to=\(to)&by=store&format=csv"] {
            let (one, two) = (try send(hq, "GET", path), try send(copy, "GET", path))
            #expect(one.status == 200 && one.headers.contains { $0.name.lowercased() == "content-type" && $0.value.hasPrefix("text/csv") })
            #expect(one.bodyText == two.bodyText && one.bodyText.hasPrefix("section,key,field,value\r\n"), "\(path) differs between the two nodes")
        }
        // The first stops: the second says its figures may lack the first's entries.
        hq.stop()
        #expect(eventually(within: 30) {
            let freshness = try copy.client().getJSON("/v1/reports/liability")["freshness"] as? [[String: Any]] ?? []
            return freshness.contains { $0["node_id"] as? String == "hq1" && $0["behind"] as? Bool == true && $0["contact"] as? String == "unreachable" }
        }, "the stopped node is named behind")
        stopAndVerify([copy])
    }

    /// The expiry policy (published with notice, then the clock moves past it), a green
    /// category, a reward, the point value, families (some auto-pooled).
    private func setUpCatalog(_ node: NodeProcess, clock: SharedClock) throws {
        let effective = RFC3339Text(clock.now + 31 * day)
        #expect(try send(node, "PUT", "/v1/policies/expiry", #"{"version_id":"d40","rule":"days","days":40,"effective_at":"\#(effective)"}"#).status == 201)
        clock.set(clock.offset + 32 * day)
        #expect(try send(node, "PUT", "/v1/categories/veg/green").status == 200)
        #expect(try send(node, "PUT", "/v1/rewards/mug", #"{"name":"Mug","points":30,"kind":"goods"}"#).status == 201)
        #expect(try send(node, "PUT", "/v1/point-value", #"{"version_id":"v1","points":200,"fen":2500}"#).status == 201)
        for member in 0..<(Self.families * 3) {
            let body = member % 6 == 0 ? #"{"auto_pool":true}"# : nil
            #expect(try send(node, "PUT", "/v1/families/f\(member / 3)/members/c\(member)", body).status == 200)
        }
    }

    /// A purchase rung up.
    typealias Receipt = (id: String, account: String, fen: Int)

    /// Writes about `count` entries of every kind from eight clients, refunds of `older` receipts
    /// (past the return window) among them; returns the writes acknowledged and the receipts rung up.
    private func generate(_ node: NodeProcess, count: Int, phase: Int, older: [Receipt]) -> (Int, [Receipt]) {
        let acknowledged = AcknowledgedSet()
        let rung = Mutex<[Receipt]>([])
        let address = node.httpAddress, workers = 8
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let client = HTTPClient(address: address, timeoutMilliseconds: 30_000)
            var random = SystemRandomNumberGenerator()
            var receipts: [Receipt] = []
            for index in 0..<(count / workers + 1) {
                let id = "\(phase)-\(worker)-\(index)"
                let account = "c\(Int.random(in: 0..<Self.customers, using: &random))"
                let member = Int.random(in: 0..<(Self.families * 3), using: &random)
                let path: String, body: String
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<52:
                    let fen = Int.random(in: 500...20_000, using: &random)
                    let items = Bool.random(using: &random)
                        ? #","items":[{"sku":"a","category":"veg","amount_fen":\#(fen / 2)},{"sku":"b","category":"tea","amount_fen":\#(fen - fen / 2)}]"# : ""
                    let buyer = Bool.random(using: &random) ? "c\(member)" : account
                    path = "/v1/purchases"
                    body = #"{"receipt_id":"P\#(id)","account_id":"\#(buyer)","amount_fen":\#(fen)\#(items)}"#
                    receipts.append(("P\(id)", buyer, fen))
                case 52..<64:
                    path = "/v1/redemptions"
                    body = #"{"request_id":"Q\#(id)","account_id":"\#(account)","points":\#(Int.random(in: 1...60, using: &random))}"#
                case 64..<68:
                    path = "/v1/redemptions"
                    body = #"{"request_id":"Q\#(id)","account_id":"c\#(member)","points":30,"reward_id":"mug"}"#
                case 68..<72:
                    path = "/v1/redemptions"
                    body = #"{"request_id":"Q\#(id)","account_id":"family:f\#(member / 3)","member_id":"c\#(member)","points":\#(Int.random(in: 1...20, using: &random))}"#
                case 72..<84:
                    guard let receipt = older.randomElement(using: &random) else { continue }
                    if Bool.random(using: &random) {
                        // The customer spends everything first: the refund's points become debt.
                        let balance = (try? client.send("GET", "/v1/accounts/\(receipt.account)"))
                            .flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }?["balance"] as? Int ?? 0
                        let drain = #"{"request_id":"QD\#(id)","account_id":"\#(receipt.account)","points":\#(balance)}"#
                        if balance > 0, (try? client.send("POST", "/v1/redemptions", body: Array(drain.utf8), headers: [("Content-Type", "application/json")]))?.status == 201 {
                            acknowledged.insert("QD\(id)")
                        }
                    }
                    path = "/v1/refunds"
                    body = #"{"refund_id":"F\#(id)","receipt_id":"\#(receipt.id)","amount_fen":\#(Int.random(in: 100...receipt.fen, using: &random))}"#
                case 84..<94:
                    let to = member / 3 * 3 + (member + 1) % 3
                    path = "/v1/transfers"
                    body = #"{"request_id":"T\#(id)","from_account":"c\#(member)","to_account":"\#(Bool.random(using: &random) ? "c\(to)" : "family:f\(member / 3)")","points":\#(Int.random(in: 1...30, using: &random))}"#
                case 94..<97:
                    path = "/v1/deductions"
                    body = #"{"request_id":"D\#(id)","account_id":"\#(account)","points":\#(Int.random(in: 1...10, using: &random)),"evidence_ref":"CASE","reason":"abuse","operator":"ops"}"#
                default:
                    path = "/v1/compensations"
                    body = #"{"batch_id":"C\#(id)","action":"grant","reason":"outage","reference":"INC-1","accounts":["\#(account)","c\#(member)"],"points":\#(Int.random(in: 1...50, using: &random))}"#
                }
                if (try? client.send("POST", path, body: Array(body.utf8), headers: [("Content-Type", "application/json")]))?.status == 201 {
                    acknowledged.insert(id)
                }
            }
            rung.withLock { $0 += receipts }
        }
        return (acknowledged.count, rung.withLock { $0 })
    }

    /// Waits until the node's entry count stops moving (its late-credit sweep is done).
    private func settle(_ node: NodeProcess) throws {
        var last = -1
        while true {
            let entries = try node.client().getJSON("/v1/status")["entries"] as? Int ?? 0
            if entries == last { return }
            last = entries
            Thread.sleep(forTimeInterval: 1.5)
        }
    }

    /// Every line of an account's history, oldest page last.
    private func history(_ node: NodeProcess, _ account: String) throws -> [[String: Any]] {
        var lines: [[String: Any]] = [], before = ""
        repeat {
            let page = try node.client().getJSON("/v1/accounts/\(account)/entries?limit=500&before=\(before)")
            lines += page["entries"] as? [[String: Any]] ?? []
            before = page["next_cursor"] as? String ?? ""
        } while !before.isEmpty
        return lines
    }

    /// The lots expiring in `from...to`, summed by month (`YYYY-MM`).
    private func lotsByMonth(_ node: NodeProcess, from: Int64, to: Int64) throws -> [String: Int] {
        var months: [String: Int] = [:], after = ""
        repeat {
            let page = try node.client().getJSON("/v1/lots?expiring_from=\(RFC3339Text(from))&expiring_to=\(RFC3339Text(to))&limit=1000&after=\(after)")
            for lot in page["lots"] as? [[String: Any]] ?? [] {
                months[String((lot["expires_at"] as? String ?? "").prefix(7)), default: 0] += lot["points"] as? Int ?? 0
            }
            after = page["next_cursor"] as? String ?? ""
        } while !after.isEmpty
        return months
    }

    /// The activity's totals from the histories: each entry once (it shows in every account it
    /// moves), duplicates and void entries left out, read by its moves; expiry from the
    /// histories' expiry lines.
    private func recompute(_ histories: [String: [[String: Any]]]) -> [String: Int] {
        var totals: [String: Int] = [:]
        var seen: Set<String> = []
        for line in histories.values.joined() {
            let kind = line["kind"] as? String ?? ""
            if kind == "expire" {
                totals["expired", default: 0] -= line["balance_delta"] as? Int ?? 0
                continue
            }
            guard line["duplicate"] as? Bool != true, line["void"] as? Bool != true, seen.insert(line["entry_id"] as? String ?? "").inserted else { continue }
            if kind == "earn" {
                totals["issued_by_campaigns", default: 0] += (line["campaigns"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["points"] as? Int ?? 0) }
                totals["green_issued", default: 0] += line["green_points"] as? Int ?? 0
            }
            if kind == "campaign-credit" { totals["issued_by_campaigns", default: 0] += line["points"] as? Int ?? 0 }
            for move in line["moves"] as? [[String: Any]] ?? [] {
                let debit = move["debit"] as? String ?? "", credit = move["credit"] as? String ?? "", amount = move["amount"] as? Int ?? 0
                if move["asset"] as? String == "debt" {
                    if debit == "@debt-owed", kind == "refund" { totals["refunded", default: 0] += amount }
                    continue
                }
                if debit.hasPrefix("@issued") {
                    totals["issued", default: 0] += amount
                    if credit.hasPrefix("family:") { totals["pooled", default: 0] += amount }
                } else if credit.hasPrefix("@redeemed") {
                    totals["redeemed", default: 0] += amount
                } else if credit.hasPrefix("@clawed-back") {
                    totals[kind == "refund" ? "refunded" : "debt_repaid", default: 0] += amount
                } else if debit == "@compensated" {
                    totals["compensated", default: 0] += amount
                } else if credit == "@deducted" {
                    totals["deducted", default: 0] += amount
                } else if !debit.hasPrefix("@"), !credit.hasPrefix("@") {
                    totals["transferred", default: 0] += amount
                }
            }
        }
        return totals
    }
}

/// `milliseconds` as RFC 3339 (UTC, milliseconds).
private func RFC3339Text(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}
