import Foundation
import PointMeshHTTP
import Testing

/// The change feed and `pointmesh export`, on a real node.
@Suite(.serialized) struct FeedTests {
    /// Purchases, redemptions, refunds (one past what was left: debt), a transfer, a deduction
    /// and a grant, `count` of each round.
    private func write(_ node: NodeProcess, round: Int, count: Int) throws {
        for index in 0..<count {
            let id = "\(round)-\(index)", account = "f\(index % 7)"
            #expect(try node.client().postJSON("/v1/purchases", #"{"receipt_id":"R\#(id)","account_id":"\#(account)","amount_fen":\#(1_000 + index * 37)}"#).status == 201)
            if index % 3 == 0 {
                // Refused when the account was drained before: that is fine.
                _ = try node.client().postJSON("/v1/redemptions", #"{"request_id":"Q\#(id)","account_id":"\#(account)","points":5}"#)
            }
            if index % 5 == 0 {
                // Everything spent first: the refund's points become debt.
                let balance = try node.client().getJSON("/v1/accounts/\(account)")["balance"] as? Int ?? 0
                if balance > 0 {
                    #expect(try node.client().postJSON("/v1/redemptions", #"{"request_id":"QA\#(id)","account_id":"\#(account)","points":\#(balance)}"#).status == 201)
                }
                #expect(try node.client().postJSON("/v1/refunds", #"{"refund_id":"F\#(id)","receipt_id":"R\#(id)","amount_fen":1000}"#).status == 201)
            }
        }
        #expect(try node.client().postJSON("/v1/deductions",
                                           #"{"request_id":"D\#(round)","account_id":"f1","points":2,"evidence_ref":"CASE","reason":"abuse","operator":"ops"}"#).status == 201)
        #expect(try node.client().postJSON("/v1/compensations",
                                           #"{"batch_id":"C\#(round)","action":"grant","reason":"outage","reference":"INC","accounts":["f2"],"points":9}"#).status == 201)
    }

    /// Paged in small pages with a restart between two of them and writes after it: every
    /// entry exactly once, in the order stored, the cursor still valid after the restart.
    @Test func everyEntryOnceAcrossPagesAndRestarts() throws {
        var node = try NodeProcess(extraArguments: ["--node-id", "feed1", "--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        try write(node, round: 1, count: 40)
        var seen: [String] = [], cursors: [Int] = [], after = ""
        func page() throws -> Int {
            let answer = try node.client().getJSON("/v1/feed?after=\(after)&limit=7")
            let entries = answer["entries"] as? [[String: Any]] ?? []
            seen += entries.compactMap { $0["entry_id"] as? String }
            cursors += entries.compactMap { ($0["cursor"] as? String).flatMap(Int.init) }
            after = answer["next"] as? String ?? after
            return entries.count
        }
        for _ in 0..<5 { _ = try page() }
        node.stop()
        node = try NodeProcess(dataDirectory: node.dataDirectory, extraArguments: ["--node-id", "feed1", "--role", "hq"])
        try write(node, round: 2, count: 10)
        while try page() > 0 {}
        let held = try node.client().getJSON("/v1/status")["entries"] as? Int ?? -1
        #expect(seen.count == held && Set(seen).count == held, "\(seen.count) entries read, \(Set(seen).count) distinct, \(held) held")
        #expect(cursors == cursors.sorted() && Set(cursors).count == cursors.count, "cursors rise")
        let jsonLines = try node.client().send("GET", "/v1/feed?limit=3&format=jsonl")
        #expect(jsonLines.bodyText.split(separator: "\n").count == 3 && jsonLines.headers.contains { $0.name == "Next-Cursor" && $0.value == String(cursors[2]) })
        for bad in ["after=x", "after=-1", "after=\(held + 1)", "limit=0", "limit=5001", "format=csv"] {
            #expect(try node.client().send("GET", "/v1/feed?\(bad)").status == 400, "\(bad)")
        }
        stopAndVerify([node])
    }

    /// `pointmesh export --csv` in two runs (the second continues where the first stopped),
    /// loaded by SQLite's own `.import`: the entries once each, and their sums equal to the
    /// reports (points issued and redeemed; customers' points less what expired or is pending
    /// equal the liability).
    @Test func anExportLoadedIntoSQLiteSumsToTheReports() throws {
        let sqlite = try #require(["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "the sqlite3 shell (.ci/run installs it)")
        let node = try NodeProcess(extraArguments: ["--node-id", "feed2", "--role", "hq"])
        let out = NodeProcess.scratchDirectory() + "-export"
        defer { node.stop(); node.removeFiles(); try? FileManager.default.removeItem(atPath: out) }
        let url = "http://\(node.httpAddress)"
        try write(node, round: 1, count: 30)
        let first = try runPointmesh(["export", "--node", url, "--csv", "--out", out, "--part-size", "25"])
        #expect(first.status == 0 && first.stderr.contains("exported 25 entries"), "\(first.stdout) \(first.stderr)")
        try write(node, round: 2, count: 12)
        let second = try runPointmesh(["export", "--node", url, "--csv", "--out", out])
        #expect(second.status == 0, "\(second.stdout) \(second.stderr)")
        let again = try runPointmesh(["export", "--node", url, "--csv", "--out", out])
        #expect(again.stdout.contains("nothing new"), "\(again.stdout)")
        // A run stopped after a part but before the cursor file: the parts are the truth.
        try "0\n".write(toFile: out + "/cursor", atomically: true, encoding: .utf8)
        let resumed = try runPointmesh(["export", "--node", url, "--csv", "--out", out])
        #expect(resumed.stdout.contains("nothing new"), "\(resumed.stdout)")
        let overlapping = try runPointmesh(["export", "--node", url, "--csv", "--out", out, "--after", "3"])
        #expect(overlapping.status == 2 && overlapping.stderr.contains("already holds parts"), "\(overlapping.stderr)")

        let parts = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".csv") }.sorted()
        #expect(parts.count >= 3 && !FileManager.default.fileExists(atPath: out + "/cursor.partial"))
        // The first part makes the table from its header; the others skip theirs.
        let imports = parts.enumerated().flatMap { index, part in ["-cmd", ".import --csv \(index == 0 ? "" : "--skip 1 ")\(out)/\(part) moves"] }
        func query(_ sql: String) throws -> String {
            let result = try runProgram(URL(fileURLWithPath: sqlite), [":memory:"] + imports + [sql])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let held = try node.client().getJSON("/v1/status")["entries"] as? Int ?? -1
        #expect(try query("SELECT COUNT(DISTINCT entry_id) || ' ' || COUNT(DISTINCT cursor) FROM moves") == "\(held) \(held)")
        let counting = "duplicate = 'false' AND void = 'false' AND asset = 'points'"
        let formatter = ISO8601DateFormatter()
        let from = formatter.string(from: Date().addingTimeInterval(-86_400)), to = formatter.string(from: Date().addingTimeInterval(86_400))
        let activity = try node.client().getJSON("/v1/reports/activity?from=\(from)&to=\(to)&by=store")["total"] as? [String: Any] ?? [:]
        #expect(activity["issued"] as? Int ?? 0 > 0, "\(activity)")
        #expect(try query("SELECT SUM(CAST(amount AS INTEGER)) FROM moves WHERE \(counting) AND debit LIKE '@issued%'") == "\(activity["issued"] as? Int ?? -1)")
        #expect(try query("SELECT SUM(CAST(amount AS INTEGER)) FROM moves WHERE \(counting) AND credit LIKE '@redeemed%'") == "\(activity["redeemed"] as? Int ?? -1)")
        // What customers hold by the moves = spendable + pending + expired (no lot expired here).
        let liability = try node.client().getJSON("/v1/reports/liability")["outstanding"] as? [String: Int] ?? [:]
        let net = try query("""
            SELECT SUM(CASE WHEN credit NOT LIKE '@%' THEN CAST(amount AS INTEGER) ELSE 0 END)
                 - SUM(CASE WHEN debit NOT LIKE '@%' THEN CAST(amount AS INTEGER) ELSE 0 END) FROM moves WHERE \(counting)
            """)
        #expect(net == "\((liability["points"] ?? 0) + (liability["pending_points"] ?? 0))", "moves \(net), liability \(liability)")
        let debt = try query("""
            SELECT SUM(CASE WHEN credit NOT LIKE '@%' THEN CAST(amount AS INTEGER) ELSE 0 END)
                 - SUM(CASE WHEN debit NOT LIKE '@%' THEN CAST(amount AS INTEGER) ELSE 0 END)
            FROM moves WHERE duplicate = 'false' AND void = 'false' AND asset = 'debt'
            """)
        #expect(debt == "\(liability["debt_points"] ?? -1)" && debt != "0", "debt by the moves \(debt), liability \(liability)")
    }
}
