import Foundation
import PointMeshCore
import PointMeshHTTP
import Testing

/// Reproductions 5 and 6 of "Two stores deciding at once", on real nodes cut apart and then
/// joined (`CutApartPair`): definitions HQ publishes hold on the converged history, the same on
/// both nodes.
@Suite(.serialized) struct ConvergedCatalogTests {
    private func put(_ node: NodeProcess, _ path: String, _ body: String) throws -> HTTPClientResponse {
        try node.client().send("PUT", path, body: Array(body.utf8))
    }

    /// Ten years effective now at one store, 400 days a second later at the other: each a
    /// lengthening where it was published; merged, 400 days would shorten ten years with a
    /// second's notice, so it is void on both and ten years stays in force.
    @Test func twoPoliciesThatTogetherShortenWithoutNoticeLeaveTheLongerInForce() throws {
        var pair = try CutApartPair(extraArguments: ["--role", "hq"])
        defer { pair.stop() }
        let now = Date().timeIntervalSince1970 * 1_000
        let effective = RFC3339.format(milliseconds: Int64(now) + 1_000), later = RFC3339.format(milliseconds: Int64(now) + 2_000)
        let long = try put(pair.x1, "/v1/policies/expiry", #"{"version_id":"L3650","rule":"days","days":3650,"effective_at":"\#(effective)"}"#)
        #expect(long.status == 201, "\(long.bodyText)")
        let short = try put(pair.x2, "/v1/policies/expiry", #"{"version_id":"L400","rule":"days","days":400,"effective_at":"\#(later)"}"#)
        #expect(short.status == 201, "a lengthening where it was published: \(short.bodyText)")
        try pair.join()
        // Past both effective instants, so the 400 days would be in force if it stood.
        let remaining = Int64(now) + 2_200 - Int64(Date().timeIntervalSince1970 * 1_000)
        if remaining > 0 { usleep(UInt32(remaining) * 1_000) }
        for node in pair.nodes {
            let policies = try node.client().getJSON("/v1/policies/expiry")
            #expect((policies["in_force"] as? [String: Any])?["version_id"] as? String == "L3650", "\(policies)")
            #expect((policies["void_versions"] as? [[String: Any]])?.map { $0["version_id"] as? String } == ["L400"], "\(policies)")
        }
    }

    /// The point value published apart under one version id with other terms (two HQ scripts
    /// at two cut-off nodes), and another version at one of them: merged, both nodes value the
    /// same points at the same version, the latest in ledger order, and list the clash.
    @Test func pointValuesPublishedApartLeaveTheLatestOnBothNodes() throws {
        var pair = try CutApartPair(extraArguments: ["--role", "hq"])
        defer { pair.stop() }
        // Something to value: 50 points at each node.
        for (node, receipt) in [(pair.x1, "PV1"), (pair.x2, "PV2")] {
            #expect(try node.client().postJSON("/v1/purchases", #"{"receipt_id":"\#(receipt)","account_id":"val","amount_fen":5000}"#).status == 201)
        }
        #expect(try put(pair.x1, "/v1/point-value", #"{"version_id":"2027","points":200,"fen":2500}"#).status == 201)
        #expect(try put(pair.x2, "/v1/point-value", #"{"version_id":"2027","points":100,"fen":1000}"#).status == 201)
        usleep(5_000)
        #expect(try put(pair.x1, "/v1/point-value", #"{"version_id":"2027b","points":100,"fen":3000}"#).status == 201)
        try pair.join()
        for node in pair.nodes {
            let value = try node.client().getJSON("/v1/reports/liability")["value"] as? [String: Any] ?? [:]
            #expect(value["version_id"] as? String == "2027b" && value["fen"] as? Int == 3000 && value["gross_fen"] as? Int == 3000, "\(value)")
            let clashes = try node.client().getJSON("/v1/clashes")["clashes"] as? [[String: Any]] ?? []
            #expect(clashes.map { $0["key"] as? String } == ["point-value:2027"], "\(clashes)")
        }
    }

    /// One campaign id, ×2 at one store and ×10 at the other: merged, the first published stands
    /// whole on both, never one side's terms with the other's publication.
    @Test func oneCampaignIDTwoDefinitionsLeaveTheFirstWhole() throws {
        var pair = try CutApartPair(extraArguments: ["--role", "hq"])
        defer { pair.stop() }
        let window = #""starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","backdate_reason":"announced before""#
        #expect(try put(pair.x1, "/v1/campaigns/cx", #"{"name":"Double",\#(window),"multiplier":2}"#).status == 201)
        usleep(20_000)
        #expect(try put(pair.x2, "/v1/campaigns/cx", #"{"name":"Tenfold",\#(window),"multiplier":10}"#).status == 201)
        let published = (try pair.x1.client().getJSON("/v1/campaigns")["campaigns"] as? [[String: Any]])?.first?["published_at"] as? String
        try pair.join()
        for node in pair.nodes {
            let campaigns = try node.client().getJSON("/v1/campaigns")["campaigns"] as? [[String: Any]] ?? []
            #expect(campaigns.count == 1 && campaigns.first?["multiplier"] as? Int == 2 && campaigns.first?["name"] as? String == "Double"
                    && campaigns.first?["published_at"] as? String == published, "\(campaigns)")
        }
    }

    /// The void definition was the smaller one where a receipt was rung up: the receipt keeps
    /// what it was told, and once the nodes join, its store credits what the standing
    /// definition adds beyond it (a late credit), the same on both nodes.
    @Test func aReceiptRungUpUnderTheVoidSmallerDefinitionIsCreditedTheDifference() throws {
        var pair = try CutApartPair(extraArguments: ["--role", "hq"])
        defer { pair.stop() }
        let window = #""starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","backdate_reason":"announced before""#
        #expect(try put(pair.x2, "/v1/campaigns/cz", #"{"name":"Fivefold",\#(window),"multiplier":5}"#).status == 201)
        usleep(20_000)
        #expect(try put(pair.x1, "/v1/campaigns/cz", #"{"name":"Double",\#(window),"multiplier":2}"#).status == 201)
        let purchase = try pair.x1.client().postJSON("/v1/purchases", #"{"receipt_id":"R1","account_id":"amy","amount_fen":10000}"#)
        #expect(purchase.status == 201 && purchase.bodyText.contains(#""balance":200"#), "\(purchase.bodyText)")
        try pair.join()
        for node in pair.nodes {
            let credited = eventually(within: 15) { try node.client().getJSON("/v1/accounts/amy")["balance"] as? Int == 500 }
            #expect(credited, "x5 gives 400 campaign points, x2 gave 100: amy is owed 300 more")
            let campaigns = try node.client().getJSON("/v1/campaigns")["campaigns"] as? [[String: Any]] ?? []
            #expect(campaigns.first?["multiplier"] as? Int == 5)
        }
        let history = try pair.x2.client().getJSON("/v1/accounts/amy/entries")["entries"] as? [[String: Any]] ?? []
        #expect(history.filter { $0["kind"] as? String == "campaign-credit" }.count == 1, "\(history)")
    }
}
