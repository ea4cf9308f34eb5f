import Foundation
import PointMeshHTTP
import Testing

/// An HQ node and a store seeded from it, gossiping every 200 ms: a pair written back to back.
private func hqAndStore(_ tag: String) throws -> (hq: NodeProcess, store: NodeProcess) {
    let hq = try NodeProcess(extraArguments: ["--node-id", "hq\(tag)", "--role", "hq", "--gossip-interval-ms", "200"])
    return (hq, try NodeProcess(extraArguments: ["--node-id", "store-\(tag)", "--seed", hq.gossipAddress.description, "--gossip-interval-ms", "200"]))
}

@Suite struct CampaignProcessTests {
    /// Bad definitions and requests are each a 4xx naming the field, and write nothing.
    @Test func badCatalogInputIsRefusedNamingTheField() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        func send(_ method: String, _ path: String, _ body: String?) throws -> HTTPClientResponse {
            try node.client().send(method, path, body: body.map { Array($0.utf8) })
        }
        #expect(try send("PUT", "/v1/rewards/tea", #"{"name":"Tea","points":40,"kind":"goods"}"#).status == 201)
        let window = #""starts_at":"2036-01-01T00:00:00Z","ends_at":"2037-01-01T00:00:00Z""#
        let cases: [(String, String, String?, Int, String, String)] = [
            ("PUT", "/v1/campaigns/c1", #"{"name":"x","starts_at":"2026-02-01T00:00:00Z","ends_at":"2026-01-01T00:00:00Z","multiplier":2}"#, 400, "invalid_field", "ends_at"),
            ("PUT", "/v1/campaigns/c1", #"{"name":"x",\#(window),"multiplier":1}"#, 400, "invalid_field", "multiplier"),
            ("PUT", "/v1/campaigns/c1", #"{"name":"x",\#(window),"multiplier":11}"#, 400, "invalid_field", "multiplier"),
            ("PUT", "/v1/campaigns/c1", #"{"name":"x",\#(window)}"#, 400, "missing_field", "multiplier"),
            ("PUT", "/v1/campaigns/c1", #"{"name":"x",\#(window),"multiplier":2,"bonus_points":5}"#, 400, "invalid_field", "bonus_points"),
            ("PUT", "/v1/campaigns/c1", #"{"name":"x",\#(window),"multiplier":2,"green":true,"categories":["bikes"]}"#, 404, "unknown_green_category",
             "categories[0]"),
            ("PUT", "/v1/rewards/zero", #"{"name":"Zero","points":0,"kind":"goods"}"#, 400, "invalid_field", "points"),
            ("PUT", "/v1/rewards/p", #"{"name":"Partner","points":5,"kind":"partner"}"#, 400, "missing_field", "partner"),
            ("PUT", "/v1/budgets/2026-13/chain", #"{"points":100}"#, 400, "invalid_field", "month"),
            // A store no node of this chain is: the budget would never apply.
            ("PUT", "/v1/budgets/2026-12/s9", #"{"points":100}"#, 404, "unknown_node", "scope"),
            ("POST", "/v1/purchases", #"{"receipt_id":"B1","account_id":"a","amount_fen":100,"budget_override":{}}"#, 400, "missing_field", "reason"),
            ("POST", "/v1/purchases", #"{"receipt_id":"B2","account_id":"a","amount_fen":100,"items":[{"sku":"s","category":"c","amount_fen":200}]}"#,
             400, "invalid_field", "items"),
            ("POST", "/v1/redemptions", #"{"request_id":"Q1","account_id":"a","reward_id":"nope"}"#, 404, "unknown_reward", "reward_id"),
            ("POST", "/v1/redemptions", #"{"request_id":"Q2","account_id":"a","reward_id":"tea","points":3}"#, 400, "invalid_field", "points"),
            ("DELETE", "/v1/campaigns/nope", nil, 404, "unknown_campaign", "campaign_id"),
        ]
        let before = try node.client().getJSON("/v1/status")["entries"] as? Int
        for (method, path, body, status, code, field) in cases {
            let response = try send(method, path, body)
            #expect(response.status == status && response.errorCode == code && response.bodyText.contains(field),
                    "\(method) \(path) \(body ?? ""): \(response.status) \(response.bodyText)")
        }
        #expect(try node.client().getJSON("/v1/status")["entries"] as? Int == before, "a refusal writes nothing")
    }

    /// HQ publishes a double-points campaign (through the CLI) while a store is cut off; the
    /// store earns at the base rate; once they meet, the store credits the campaign's points,
    /// and the customer holds them exactly once on both nodes, however often the store restarts
    /// (and a restart doesn't sweep the store's purchases for the campaign again).
    @Test func aCampaignLearnedLateIsCreditedOnceOnBothNodes() throws {
        let hq = try NodeProcess(extraArguments: ["--node-id", "hq", "--role", "hq", "--gossip-interval-ms", "200"])
        var store = try NodeProcess(extraArguments: ["--node-id", "store-1", "--gossip-interval-ms", "200"])
        var nodes = [hq, store]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        let published = try runPointmesh(["campaign", "set", "--node", "http://\(hq.httpAddress)", "--id", "double-11", "--name", "Singles' Day",
                                          "--starts", "2020-01-01T00:00:00Z", "--ends", "2099-01-01T00:00:00Z", "--multiplier", "2",
                                          "--backdate-reason", "announced in stores before HQ published it"])
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
        #expect(store.log.contains("sweeping this store's purchases for 1 new or changed campaigns"), "\(store.log)")
        // Restarting the store credits nothing more, and doesn't sweep its purchases again: it
        // kept which campaign windows it swept.
        _ = store.stop()
        store = try NodeProcess(dataDirectory: store.dataDirectory, extraArguments: ["--node-id", "store-1", "--seed", hq.gossipAddress.description,
                                                                                      "--gossip-interval-ms", "200"])
        nodes.append(store)
        // The sweeper says it looked and found every campaign swept: no sleep-and-hope.
        let restarted = store
        #expect(eventually(within: 10) { restarted.log.contains("every campaign (1) was swept before") }, "\(store.log)")
        #expect(!store.log.contains("sweeping this store's purchases"), "\(store.log)")
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
        stopAndVerify([hq, store])
    }

    /// Reproduction 7 of "Two stores deciding at once", HQ and a store written back to back: a
    /// campaign starting months ago with a large bonus is refused without a reason; with one,
    /// the store credits its receipts late, the credits record the reason, and the chain budget
    /// shows them used past its limit on both nodes.
    @Test func aCampaignStartingInThePastNeedsAReasonItsCreditsRecord() throws {
        let (hq, store) = try hqAndStore("7")
        defer { for node in [hq, store] { node.stop(); node.removeFiles() } }
        let month = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
        #expect(try hq.client().send("PUT", "/v1/budgets/\(month)/chain", body: Array(#"{"points":2000}"#.utf8)).status == 200)
        for receipt in ["P1", "P2", "P3"] {
            #expect(try store.client().postJSON("/v1/purchases", #"{"receipt_id":"\#(receipt)","account_id":"mo","amount_fen":10000}"#).status == 201)
        }
        let starts = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-90 * 86_400))
        let campaign = #"{"name":"Anniversary","starts_at":"\#(starts)","ends_at":"2099-01-01T00:00:00Z","bonus_points":1000000"#
        let unexplained = try hq.client().send("PUT", "/v1/campaigns/anniversary", body: Array((campaign + "}").utf8))
        #expect(unexplained.status == 400 && unexplained.errorCode == "backdate_reason_required", "\(unexplained.bodyText)")
        let explained = try hq.client().send("PUT", "/v1/campaigns/anniversary", body: Array((campaign + #","backdate_reason":"board decision 12"}"#).utf8))
        #expect(explained.status == 201 && explained.json["backdate_reason"] as? String == "board decision 12", "\(explained.bodyText)")
        #expect(eventually(within: 20) { try [hq, store].allSatisfy { try balance($0, "mo") == 3_000_300 } })
        for node in [hq, store] {
            let history = try node.client().getJSON("/v1/accounts/mo/entries")["entries"] as? [[String: Any]] ?? []
            let credits = history.filter { $0["kind"] as? String == "campaign-credit" }
            #expect(credits.count == 3 && credits.allSatisfy { $0["backdate_reason"] as? String == "board decision 12" }, "\(history)")
            let budgets = try node.client().getJSON("/v1/budgets/\(month)")["budgets"] as? [[String: Any]] ?? []
            #expect(budgets.first?["used"] as? Int == 3_000_300 && budgets.first?["points"] as? Int == 2000, "\(budgets)")
        }
        stopAndVerify([hq, store])
    }

    /// Reproduction 8 of "Two stores deciding at once": an account in debt receives a late
    /// campaign credit, which repays the debt first on both nodes (it once left `debt 85`).
    @Test func aLateCampaignCreditRepaysDebtOnBothNodes() throws {
        let (hq, store) = try hqAndStore("8")
        defer { for node in [hq, store] { node.stop(); node.removeFiles() } }
        #expect(try store.client().postJSON("/v1/purchases", #"{"receipt_id":"D1","account_id":"de","amount_fen":10000}"#).status == 201)
        #expect(try store.client().postJSON("/v1/purchases", #"{"receipt_id":"D2","account_id":"de","amount_fen":1000}"#).status == 201)
        #expect(try store.client().postJSON("/v1/redemptions", #"{"request_id":"DQ","account_id":"de","points":95}"#).status == 201)
        let refund = try store.client().postJSON("/v1/refunds", #"{"refund_id":"DF","receipt_id":"D1","amount_fen":10000}"#)
        #expect(refund.status == 201 && refund.json["debt_delta"] as? Int == 85, "\(refund.bodyText)")
        let starts = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400))
        let campaign = #"{"name":"Thanks","starts_at":"\#(starts)","ends_at":"2099-01-01T00:00:00Z","bonus_points":50,"backdate_reason":"apology"}"#
        #expect(try hq.client().send("PUT", "/v1/campaigns/thanks", body: Array(campaign.utf8)).status == 201)
        #expect(eventually(within: 20) {
            try [hq, store].allSatisfy { node in
                let account = try node.client().getJSON("/v1/accounts/de")
                return account["debt"] as? Int == 35 && account["balance"] as? Int == 0
            }
        }, "the credit of 50 repays 50 of the debt of 85 on both nodes")
        stopAndVerify([hq, store])
    }
}
