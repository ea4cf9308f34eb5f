import Foundation
import PointMeshHTTP
import Testing

/// Nodes of the tests about other family rules transfer at once after a join.
private let noCoolingOff = ["--transfer-cooling-off-days", "0"]

@Suite struct FamilyProcessTests {
    /// A family across two nodes, each writing in turn: members join on one (through the CLI),
    /// transfer on the other, and a member redeems from the pool on the first; both nodes end
    /// with the same members, balances and pool. Bad input is refused with its own code.
    @Test func aFamilyPoolsPointsAcrossTwoNodes() throws {
        let a = try NodeProcess(extraArguments: ["--node-id", "ma", "--gossip-interval-ms", "200"] + noCoolingOff)
        let b = try NodeProcess(extraArguments: ["--node-id", "mb", "--seed", a.gossipAddress.description, "--gossip-interval-ms", "200"] + noCoolingOff)
        defer { for node in [a, b] { node.stop(); node.removeFiles() } }
        let urlA = "http://\(a.httpAddress)", urlB = "http://\(b.httpAddress)"
        #expect(try a.client().postJSON("/v1/purchases", #"{"receipt_id":"M1","account_id":"ann","amount_fen":10000}"#).status == 201)
        for member in ["ann", "ben"] {
            let joined = try runPointmesh(["family", "join", "--node", urlA, "--family", "smiths", "--account", member])
            #expect(joined.status == 0 && joined.stdout.contains("\(member) is in family smiths"), "\(joined.stdout)\(joined.stderr)")
        }
        let again = try send(a, "PUT", "/v1/families/smiths/members/ann")
        #expect(again.status == 200 && (again.json["members"] as? [String]) == ["ann", "ben"], "a repeated join changes nothing: \(again.bodyText)")
        #expect(eventually(within: 15) { try b.client().getJSON("/v1/families/smiths")["members"] as? [String] == ["ann", "ben"] })

        let gift = try b.client().postJSON("/v1/transfers", #"{"request_id":"G1","from_account":"ann","to_account":"ben","points":30}"#)
        #expect(gift.status == 201 && gift.json["from_balance"] as? Int == 70 && gift.json["to_balance"] as? Int == 30, "\(gift.bodyText)")
        let pooled = try runPointmesh(["transfer", "--node", urlB, "--from", "ann", "--to", "family:smiths", "--points", "40", "--request", "G2"])
        #expect(pooled.status == 0 && pooled.stdout.contains("moved 40 points from ann to family:smiths"), "\(pooled.stdout)\(pooled.stderr)")
        #expect(eventually(within: 15) { try a.client().getJSON("/v1/families/smiths")["pool_balance"] as? Int == 40 })

        let redeemed = try runPointmesh(["redeem", "--node", urlA, "--account", "family:smiths", "--member", "ben", "--points", "25"])
        #expect(redeemed.status == 0, "\(redeemed.stdout)\(redeemed.stderr)")
        let stranger = try a.client().postJSON("/v1/redemptions", #"{"request_id":"P2","account_id":"family:smiths","points":5,"member_id":"cat"}"#)
        #expect(stranger.status == 403 && stranger.errorCode == "not_same_family", "\(stranger.bodyText)")
        #expect(eventually(within: 15) { try b.client().getJSON("/v1/families/smiths")["pool_balance"] as? Int == 15 })
        for node in [a, b] {
            let family = try node.client().getJSON("/v1/families/smiths")
            #expect(family["members"] as? [String] == ["ann", "ben"] && family["pool_balance"] as? Int == 15, "\(family)")
            #expect(try balance(node, "ann") == 30 && balance(node, "ben") == 30)
        }
        let shown = try runPointmesh(["family", "show", "--node", urlB, "--family", "smiths"])
        #expect(shown.stdout.contains("ann, ben") && shown.stdout.contains("holds 15 points"), "\(shown.stdout)")

        // Auto-pooling: set on one node, a purchase on the other goes to the pool, recorded as cat's.
        let autoPooled = try runPointmesh(["family", "join", "--node", urlB, "--family", "smiths", "--account", "cat", "--auto-pool", "on"])
        #expect(autoPooled.status == 0 && autoPooled.stdout.contains("cat (earns into the pool)"), "\(autoPooled.stdout)\(autoPooled.stderr)")
        #expect(eventually(within: 15) { try a.client().getJSON("/v1/families/smiths")["auto_pooling"] as? [String] == ["cat"] })
        let earned = try a.client().postJSON("/v1/purchases", #"{"receipt_id":"M2","account_id":"cat","amount_fen":2000}"#)
        #expect(earned.status == 201 && earned.json["pooled_to"] as? String == "family:smiths" && earned.json["balance"] as? Int == 0, "\(earned.bodyText)")
        #expect(eventually(within: 15) { try b.client().getJSON("/v1/families/smiths")["pool_balance"] as? Int == 35 })
        let catHistory = try b.client().getJSON("/v1/accounts/cat/entries")["entries"] as? [[String: Any]] ?? []
        #expect(catHistory.first?["pooled_to"] as? String == "family:smiths", "\(catHistory)")

        let refusals: [(String, String, String?, Int, String)] = [
            ("POST", "/v1/transfers", #"{"request_id":"B1","from_account":"ann","to_account":"ann","points":5}"#, 400, "same_account"),
            ("POST", "/v1/transfers", #"{"request_id":"B2","from_account":"ann","to_account":"ben","points":0}"#, 400, "invalid_field"),
            ("POST", "/v1/transfers", #"{"request_id":"B3","from_account":"ann","to_account":"ben","points":-5}"#, 400, "invalid_field"),
            ("POST", "/v1/transfers", #"{"request_id":"B4","from_account":"ann","to_account":"dora","points":5}"#, 403, "not_same_family"),
            ("POST", "/v1/transfers", #"{"request_id":"B5","from_account":"ann","to_account":"ben","points":500}"#, 409, "insufficient_points"),
            ("POST", "/v1/redemptions", #"{"request_id":"B6","account_id":"family:smiths","points":5}"#, 400, "member_required"),
            ("PUT", "/v1/families/smiths/members/family:smiths", nil, 400, "pool_cannot_be_member"),
            ("PUT", "/v1/families/jones/members/ann", nil, 409, "already_in_family"),
            ("PUT", "/v1/families/\(String(repeating: "f", count: 125))/members/dora", nil, 400, "invalid_field"),
            ("PUT", "/v1/families/smiths/members/dora", #"{"extra":1}"#, 400, "unknown_field"),
            ("PUT", "/v1/families/smiths/members/dora", #"{"auto_pool":"yes"}"#, 400, "invalid_field"),
            ("PUT", "/v1/families/smiths/members/dora", #"[1"#, 400, "invalid_json"),
            ("DELETE", "/v1/families/smiths/members/dora", nil, 404, "not_a_member"),
            ("DELETE", "/v1/families/nobody/members/dora", nil, 404, "unknown_family"),
            ("GET", "/v1/families/nobody", nil, 404, "unknown_family"),
        ]
        let entriesBefore = try a.client().getJSON("/v1/status")["entries"] as? Int
        for (method, path, body, status, code) in refusals {
            let response = try send(a, method, path, body)
            #expect(response.status == status && response.errorCode == code, "\(method) \(path): \(response.status) \(response.bodyText)")
        }
        #expect(try a.client().getJSON("/v1/status")["entries"] as? Int == entriesBefore, "a refusal writes nothing")
        for node in [a, b] { #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0) }
    }

    /// A store cut off from the cluster transfers from a customer who has already left the family
    /// elsewhere, to one in debt (the transfer repays it there). When the two meet, the transfer
    /// is void on both: the points are the sender's again, the receiver's debt is back, and its
    /// history shows the transfer with no effect.
    @Test func aTransferOnStaleMembershipIsVoidOnBothNodes() throws {
        let a = try NodeProcess(extraArguments: ["--node-id", "va", "--gossip-interval-ms", "200"] + noCoolingOff)
        var b = try NodeProcess(extraArguments: ["--node-id", "vb", "--seed", a.gossipAddress.description, "--gossip-interval-ms", "200"] + noCoolingOff)
        var nodes = [a, b]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        #expect(try a.client().postJSON("/v1/purchases", #"{"receipt_id":"V1","account_id":"ann","amount_fen":10000}"#).status == 201)
        #expect(try a.client().postJSON("/v1/purchases", #"{"receipt_id":"V2","account_id":"ben","amount_fen":1000}"#).status == 201)
        #expect(try a.client().postJSON("/v1/redemptions", #"{"request_id":"VQ","account_id":"ben","points":10}"#).status == 201)
        #expect(try a.client().postJSON("/v1/refunds", #"{"refund_id":"VF","receipt_id":"V2","amount_fen":1000}"#).json["debt_delta"] as? Int == 10)
        for member in ["ann", "ben"] { #expect(try send(a, "PUT", "/v1/families/smiths/members/\(member)").status == 200) }
        #expect(eventually(within: 15) { try b.client().getJSON("/v1/families/smiths")["members"] as? [String] == ["ann", "ben"] })
        // ann shops at b too, so the rights to her points follow her there (docs/rules.md, "Spending rights").
        #expect(try b.client().postJSON("/v1/purchases", #"{"receipt_id":"V3","account_id":"ann","amount_fen":100}"#).status == 201)
        #expect(eventually(within: 15) { try heldRights(b, "ann") == ["vb": 101] })
        _ = b.stop()
        let left = try send(a, "DELETE", "/v1/families/smiths/members/ann")
        #expect(left.status == 200 && left.json["members"] as? [String] == ["ben"], "\(left.bodyText)")
        // b comes back while a is down (b remembers a's address), and decides on what it knew.
        _ = a.stop()
        b = try NodeProcess(dataDirectory: b.dataDirectory, extraArguments: ["--node-id", "vb", "--gossip-interval-ms", "200"] + noCoolingOff)
        nodes.append(b)
        let stale = try b.client().postJSON("/v1/transfers", #"{"request_id":"VT","from_account":"ann","to_account":"ben","points":30}"#)
        #expect(stale.status == 201 && stale.json["to_balance"] as? Int == 20, "\(stale.bodyText)")
        #expect(try balance(b, "ben") == 20 && b.client().getJSON("/v1/accounts/ben")["debt"] as? Int == 0, "the transfer repaid ben's debt of 10")
        // a comes back and learns of b: the two exchange entries.
        let rejoined = try NodeProcess(dataDirectory: a.dataDirectory, extraArguments: ["--node-id", "va", "--seed", b.gossipAddress.description,
                                                                                        "--gossip-interval-ms", "200"] + noCoolingOff)
        nodes.append(rejoined)
        #expect(eventually(within: 20) {
            try balance(rejoined, "ben") == 0 && balance(b, "ben") == 0 && rejoined.client().getJSON("/v1/accounts/ben/entries")["entries"] as? [[String: Any]] != nil
                && b.client().getJSON("/v1/accounts/ann")["family_id"] is NSNull
        })
        for node in [rejoined, b] {
            #expect(try balance(node, "ann") == 101 && balance(node, "ben") == 0)
            #expect(try node.client().getJSON("/v1/accounts/ben")["debt"] as? Int == 10, "the void transfer's repayment is taken back")
            let history = try node.client().getJSON("/v1/accounts/ben/entries")["entries"] as? [[String: Any]] ?? []
            let transfer = history.first { $0["kind"] as? String == "transfer" }
            #expect(transfer?["void"] as? Bool == true && transfer?["balance_delta"] as? Int == 0, "\(history)")
        }
        for node in [rejoined, b] {
            _ = node.stop()
            #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
        }
    }

    /// Family hopping (reproduction 10 of "Two stores deciding at once"), with the default
    /// cooling-off period of 30 days and two stores written back to back: alice and mule join
    /// one family, mule another with bob later; no transfer stands until both parties have been
    /// members for 30 days, at either store, and both agree on every balance.
    @Test func familyHoppingWaitsOutTheCoolingOffPeriod() throws {
        let clock = SharedClock()
        let x1 = try NodeProcess(extraArguments: ["--node-id", "h1", "--clock-offset-file", clock.path, "--gossip-interval-ms", "200"])
        let x2 = try NodeProcess(extraArguments: ["--node-id", "h2", "--clock-offset-file", clock.path, "--seed", x1.gossipAddress.description,
                                                  "--gossip-interval-ms", "200"])
        defer { for node in [x1, x2] { node.stop(); node.removeFiles() } }
        func transfer(_ node: NodeProcess, _ id: String, _ from: String, _ to: String) throws -> HTTPClientResponse {
            try node.client().postJSON("/v1/transfers", #"{"request_id":"\#(id)","from_account":"\#(from)","to_account":"\#(to)","points":100}"#)
        }
        #expect(try x1.client().postJSON("/v1/purchases", #"{"receipt_id":"H1","account_id":"alice","amount_fen":10000}"#).status == 201)
        #expect(try send(x1, "PUT", "/v1/families/fa/members/alice").status == 200)
        #expect(try send(x2, "PUT", "/v1/families/fa/members/mule").status == 200)
        #expect(eventually(within: 15) { try [x1, x2].allSatisfy { try $0.client().getJSON("/v1/families/fa")["members"] as? [String] == ["alice", "mule"] } })
        let early = try transfer(x2, "T1", "alice", "mule")
        #expect(early.status == 403 && early.errorCode == "cooling_off" && early.bodyText.contains("'alice' joined family 'fa' too recently"),
                "\(early.bodyText)")

        clock.set(31 * 86_400_000)
        let gift = try transfer(x1, "T2", "alice", "mule")
        #expect(gift.status == 201, "\(gift.bodyText)")
        #expect(eventually(within: 15) { try balance(x2, "mule") == 100 })
        #expect(try send(x2, "DELETE", "/v1/families/fa/members/mule").status == 200)
        #expect(try send(x2, "PUT", "/v1/families/fb/members/mule").status == 200)
        #expect(try send(x1, "PUT", "/v1/families/fb/members/bob").status == 200)
        #expect(eventually(within: 15) { try [x1, x2].allSatisfy { try $0.client().getJSON("/v1/families/fb")["members"] as? [String] == ["bob", "mule"] } })
        for (node, id) in [(x1, "T3"), (x2, "T4")] {
            let hop = try transfer(node, id, "mule", "bob")
            #expect(hop.status == 403 && hop.errorCode == "cooling_off", "\(hop.bodyText)")
        }
        #expect(eventually(within: 15) { try [x1, x2].allSatisfy { try balance($0, "mule") == 100 && balance($0, "bob") == 0 && balance($0, "alice") == 0 } })
        stopAndVerify([x1, x2])
    }
}
