import Foundation
import PointMeshHTTP
import Testing

private func balance(_ node: NodeProcess, _ account: String) throws -> Int? {
    try node.client().getJSON("/v1/accounts/\(account)")["balance"] as? Int
}

@Suite struct CampaignProcessTests {
    /// HQ publishes a double-points campaign (through the CLI) while a store is cut off; the
    /// store earns at the base rate; once they meet, the store credits the campaign's points,
    /// and the customer holds them exactly once on both nodes, however often the store restarts.
    @Test func aCampaignLearnedLateIsCreditedOnceOnBothNodes() throws {
        let hq = try NodeProcess(extraArguments: ["--node-id", "hq", "--role", "hq", "--gossip-interval-ms", "200"])
        var store = try NodeProcess(extraArguments: ["--node-id", "store-1", "--gossip-interval-ms", "200"])
        var nodes = [hq, store]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        let published = try runPointmesh(["campaign", "set", "--node", "http://\(hq.httpAddress)", "--id", "double-11", "--name", "Singles' Day",
                                          "--starts", "2020-01-01T00:00:00Z", "--ends", "2099-01-01T00:00:00Z", "--multiplier", "2"])
        #expect(published.status == 0 && published.stdout.contains("published campaign double-11"), "\(published.stdout)\(published.stderr)")
        let earned = try store.client().postJSON("/v1/purchases", #"{"receipt_id":"L1","account_id":"lu","amount_fen":12345}"#)
        #expect(earned.status == 201 && earned.json["points"] as? Int == 123 && (earned.json["campaigns"] as? [Any])?.isEmpty == true,
                "the cut-off store earns at the base rate: \(earned.bodyText)")
        // The store meets HQ.
        _ = store.stop()
        store = try NodeProcess(dataDirectory: store.dataDirectory, extraArguments: ["--node-id", "store-1", "--seed", hq.gossipAddress.description,
                                                                                      "--gossip-interval-ms", "200"])
        nodes.append(store)
        let credited = eventually(within: 20) { try balance(store, "lu") == 246 && balance(hq, "lu") == 246 }
        let seen = (try balance(store, "lu") ?? -1, try balance(hq, "lu") ?? -1)
        #expect(credited, "lu: \(seen.0) at the store, \(seen.1) at HQ")
        // Restarting the store (its sweeper runs again) credits nothing more.
        _ = store.stop()
        store = try NodeProcess(dataDirectory: store.dataDirectory, extraArguments: ["--node-id", "store-1", "--seed", hq.gossipAddress.description,
                                                                                      "--gossip-interval-ms", "200"])
        nodes.append(store)
        Thread.sleep(forTimeInterval: 1.5)
        for node in [hq, store] {
            #expect(try balance(node, "lu") == 246)
            let history = try node.client().getJSON("/v1/accounts/lu/entries")["entries"] as? [[String: Any]] ?? []
            let credits = history.filter { $0["kind"] as? String == "campaign-credit" }
            #expect(credits.count == 1 && credits.first?["campaign_id"] as? String == "double-11" && credits.first?["points"] as? Int == 123, "\(history)")
        }
        // A new purchase now earns the campaign at once, and a budget past which the store refuses.
        let month = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
        #expect(try runPointmesh(["budget", "set", "--node", "http://\(hq.httpAddress)", "--month", month, "--scope", "store-1", "--points", "300"]).status == 0)
        #expect(eventually(within: 15) { (try store.client().getJSON("/v1/budgets/\(month)")["budgets"] as? [Any])?.count == 1 })
        let refused = try store.client().postJSON("/v1/purchases", #"{"receipt_id":"L2","account_id":"lu","amount_fen":10000}"#)
        #expect(refused.status == 409 && refused.errorCode == "budget_exhausted" && refused.bodyText.contains("54 points left"), "\(refused.bodyText)")
        let overridden = try runPointmesh(["earn", "--node", "http://\(store.httpAddress)", "--account", "lu", "--receipt", "L2", "--amount-fen", "10000",
                                           "--budget-override", "VIP customer"])
        #expect(overridden.status == 0 && overridden.stdout.contains("campaigns: double-11 +100"), "\(overridden.stdout)\(overridden.stderr)")
        let shown = try runPointmesh(["budget", "show", "--node", "http://\(store.httpAddress)", "--month", month])
        #expect(shown.stdout.contains("store-1") && shown.stdout.contains("446"), "\(shown.stdout)")
        for node in [hq, store] {
            _ = node.stop()
            #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
        }
    }
}
