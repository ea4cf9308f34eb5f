import Foundation
import PointMeshHTTP
import Testing

/// HQ's dashboard in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
/// installs) against a three-node cluster with tokens.
@Suite(.serialized) struct DashboardTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs the browser on `url` until the page has loaded and settled: the DOM it ends with,
    /// and what it logged (console messages among them).
    private func browse(_ url: String, screenshot: String? = nil) throws -> (dom: String, log: String) {
        let binary = try #require(Self.chromium, "headless Chromium (.ci/run installs Debian's chromium)")
        let profile = NodeProcess.scratchDirectory() + "-chromium"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        var arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--window-size=1280,1700"]
        arguments += screenshot.map { ["--screenshot=\($0)"] } ?? ["--dump-dom"]
        let result = try runProgram(URL(fileURLWithPath: binary), arguments + [url])
        #expect(result.status == 0, "chromium: \(result.stderr.suffix(2_000))")
        return (result.stdout, result.stderr)
    }

    /// What the page shows: the DOM before its script (whose text names every message it can show).
    private func shown(_ dom: String) -> String {
        dom.range(of: "<script>").map { String(dom[..<$0.lowerBound]) } ?? dom
    }

    /// What the page wrote to the console (Chromium logs every level as `INFO:CONSOLE`; the page
    /// writes nothing when all is well), leaving out the browser's note of a 401 answer, which
    /// is how the page learns it needs a token.
    private func consoleErrors(_ log: String) -> [Substring] {
        log.split(separator: "\n").filter { $0.contains(":CONSOLE") && !$0.contains("status of 401") }
    }

    @Test func theDashboardShowsTheChainAndNothingWithoutAToken() throws {
        let fixture = try TokensFixture()
        defer { fixture.remove() }
        let clock = SharedClock()
        let common = fixture.arguments + ["--clock-offset-file", clock.path, "--gossip-interval-ms", "200"]
        let hq = try NodeProcess(extraArguments: ["--node-id", "hq", "--role", "hq"] + common)
        let stores = try ["st1", "st2"].map { try NodeProcess(extraArguments: ["--node-id", $0, "--seed", hq.gossipAddress.description] + common) }
        let nodes = [hq] + stores
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        func call(_ node: NodeProcess, _ method: String, _ path: String, _ body: String, role: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let response = try node.client().send(method, path, body: Array(body.utf8), headers: [("Authorization", "Bearer \(fixture.tokens[role] ?? "")")])
            #expect(response.status == 201, "\(method) \(path): \(response.bodyText)", sourceLocation: sourceLocation)
        }
        func converge() {
            #expect(eventually(within: 30) {
                let digests = try nodes.map { try $0.client().getJSON("/v1/status")["digest"] as? String }
                return Set(digests).count == 1
            }, "the three nodes converge")
        }
        // A 30-day policy, in force a month on (known at every store before its purchases, which
        // expire within the week after).
        let effective = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(clock.now + 31 * 86_400_000) / 1000))
        try call(hq, "PUT", "/v1/policies/expiry", #"{"version_id":"d30","rule":"days","days":30,"effective_at":"\#(effective)"}"#, role: "hq")
        try call(hq, "PUT", "/v1/point-value", #"{"version_id":"v1","points":200,"fen":2500}"#, role: "hq")
        clock.set(32 * 86_400_000)
        converge()
        for (index, store) in stores.enumerated() {
            for receipt in 0..<12 {
                let body = #"{"receipt_id":"R\#(index)-\#(receipt)","account_id":"cust-\#(receipt % 5)","amount_fen":\#(2_000 + receipt * 350)}"#
                try call(store, "POST", "/v1/purchases", body, role: "clerk")
            }
            try call(store, "POST", "/v1/redemptions", #"{"request_id":"Q\#(index)","account_id":"cust-1","points":15}"#, role: "clerk")
        }
        let now = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(clock.now + 60_000) / 1000))
        try call(hq, "PUT", "/v1/campaigns/winter", #"{"name":"Winter","starts_at":"\#(now)","ends_at":"2099-01-01T00:00:00Z","multiplier":2}"#,
                 role: "hq")
        clock.set(clock.offset + 25 * 86_400_000)
        converge()
        // HQ's fraud desk, once the stores' customers have reached it.
        try call(hq, "POST", "/v1/accounts/cust-3/freeze", #"{"request_id":"F1","evidence_ref":"CASE-9","reason":"card sharing","operator":"Li"}"#,
                 role: "admin")
        try call(hq, "POST", "/v1/compensations", #"{"batch_id":"B1","action":"grant","reason":"outage","reference":"INC-4","accounts":["cust-2"],"points":25}"#,
                 role: "admin")
        converge()

        let address = "http://\(hq.httpAddress)/"
        let served = try hq.client().send("GET", "/")
        #expect(served.status == 200 && served.headers.contains { $0.name == "Content-Type" && $0.value.hasPrefix("text/html") })
        let page = served.bodyText.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
        #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src=") && !page.contains("href=") && !page.contains("@import"),
                "the page loads nothing from elsewhere")

        // Without a token: a prompt, and no figure.
        let anonymous = try browse(address)
        let prompt = shown(anonymous.dom)
        #expect(prompt.contains("This node asks for a token"), "\(prompt.suffix(1_500))")
        #expect(!prompt.contains("data-chart") && !prompt.contains("cust-") && !prompt.contains("st1") && !prompt.contains("<td"), "\(prompt.suffix(2_000))")
        #expect(consoleErrors(anonymous.log).isEmpty, "\(consoleErrors(anonymous.log))")

        // With an hq token: every panel filled, charts drawn, no error.
        let signedIn = try browse(address + "#token=" + (fixture.tokens["hq"] ?? ""))
        let dom = shown(signedIn.dom)
        #expect(consoleErrors(signedIn.log).isEmpty, "\(consoleErrors(signedIn.log))")
        #expect(!dom.contains("<body data-errors") && !dom.contains("Missing:") && !dom.contains("asks for a token"), "\(dom.suffix(3_000))")
        for chart in ["liability-by-store", "expiry-schedule", "activity-by-day"] {
            let drawn = dom.range(of: #"data-chart="\#(chart)""#).map { dom[$0.upperBound...].prefix(4_000).contains("<rect") } ?? false
            #expect(drawn, "chart \(chart) is missing or empty")
        }
        for text in ["points outstanding", "st1", "st2", "reachable", "Winter", "freeze", "card sharing", "compensation", "reminders to send",
                     "Every store's entries are here", "yuan after expected breakage"] {
            #expect(dom.contains(text), "the dashboard lacks '\(text)'")
        }
        #expect(dom.contains(#"name="viewport""#) && dom.contains("font: 16px/1.45"), "readable on a laptop and a tablet")

        // A screenshot of it, for docs/dashboard.png (copied there by hand when the page changes).
        let screenshot = NSTemporaryDirectory() + "pointmesh-dashboard.png"
        _ = try browse(address + "#token=" + (fixture.tokens["hq"] ?? ""), screenshot: screenshot)
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int) ?? 0
        #expect(size > 20_000, "a screenshot of \(size) bytes at \(screenshot)")

        // A store out of reach: the page says so.
        stores[1].stop()
        #expect(eventually(within: 30) {
            let peers = try hq.client().getJSON("/v1/status")["peers"] as? [[String: Any]] ?? []
            return peers.contains { $0["node_id"] as? String == "st2" && $0["state"] as? String != "alive" }
        }, "the hq node sees st2 out of reach")
        let partial = try browse(address + "#token=" + (fixture.tokens["hq"] ?? ""))
        let partialShown = shown(partial.dom)
        #expect(partialShown.contains("unreachable") && partialShown.contains("May lack the entries of: st2"), "\(partialShown.suffix(3_000))")
    }
}
