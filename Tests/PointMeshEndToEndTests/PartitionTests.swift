import Foundation
import PointMeshCore
import PointMeshHTTP
import Testing

/// Stores of one chain cut apart by a real network (`CutApartPair` in network namespaces): the
/// cut is real (each store keeps serving its own tills and neither sees the other's writes until
/// it heals), and rules decided on each side hold on the converged history: cooling-off after a
/// rejoin the other side could not see, a backdated campaign's late credits with their reason,
/// against the budget, and no points stacked on a void definition.
@Suite(.enabled(if: LinkedNamespaces.available, "needs root and iproute2 to make network namespaces"), .serialized)
struct PartitionTests {
    /// The failed gossip attempt with `peer` that `node` recorded last (its time and error), if any.
    private func lastGossipError(_ node: NodeProcess, with peer: String) throws -> String? {
        let peers = try node.client().getJSON("/v1/status")["peers"] as? [[String: Any]] ?? []
        return peers.first { $0["node_id"] as? String == peer }?["last_error"] as? String
    }

    @Test func aCutStoreKeepsServingAndSeesNothingOfTheOtherUntilItHeals() throws {
        var pair = try CutApartPair()
        defer { pair.stop() }
        #expect(pair.isPartitioned)
        #expect(try pair.x1.client().postJSON("/v1/purchases", #"{"receipt_id":"A1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(try pair.x2.client().postJSON("/v1/purchases", #"{"receipt_id":"B1","account_id":"ben","amount_fen":5000}"#).status == 201)
        // Gossip tries to cross the cut: once each side has failed an attempt made after both
        // writes (a new last_error for the other), nothing has crossed.
        let (x1, x2) = (pair.x1, pair.x2)
        let before = try [lastGossipError(x1, with: "x2"), lastGossipError(x2, with: "x1")]
        #expect(eventually(within: 20) {
            let now = try [lastGossipError(x1, with: "x2"), lastGossipError(x2, with: "x1")]
            return now.allSatisfy { $0 != nil } && now[0] != before[0] && now[1] != before[1]
        }, "no gossip attempt failed across the cut after the writes: \(before)")
        #expect(try pair.x2.client().getJSON("/v1/accounts/amy")["balance"] as? Int == 0)
        #expect(try pair.x1.client().getJSON("/v1/accounts/ben")["balance"] as? Int == 0)
        try pair.join()
        for node in pair.nodes {
            #expect(try node.client().getJSON("/v1/accounts/amy")["balance"] as? Int == 100)
            #expect(try node.client().getJSON("/v1/accounts/ben")["balance"] as? Int == 50)
        }
    }

    /// Cooling-off decided on the converged history across a cut (issue 24's reproduction 10,
    /// with a partition): alice and mule have been members of fa for 31 days when the stores are
    /// cut apart. At x1 mule leaves and rejoins (its cooling-off starts again); x2, which can't
    /// know, accepts alice's transfer to mule. Once joined, the transfer lands after the rejoin
    /// on both nodes, so it is void on both: alice keeps her points, mule gets none.
    @Test func aTransferAcceptedAcrossACutIsVoidWhenTheReceiverRejoinedOnTheOtherSide() throws {
        let clock = SharedClock()
        var pair = try CutApartPair(extraArguments: ["--clock-offset-file", clock.path], cutAtOnce: false)
        defer { pair.stop() }
        #expect(try pair.x1.client().postJSON("/v1/purchases", #"{"receipt_id":"H1","account_id":"alice","amount_fen":10000}"#).status == 201)
        #expect(try send(pair.x1, "PUT", "/v1/families/fa/members/alice").status == 200)
        #expect(try send(pair.x2, "PUT", "/v1/families/fa/members/mule").status == 200)
        let (x1, x2) = (pair.x1, pair.x2)
        #expect(eventually(within: 15) {
            try [x1, x2].allSatisfy { try $0.client().getJSON("/v1/families/fa")["members"] as? [String] == ["alice", "mule"] && balance($0, "alice") == 100 }
        })
        // alice shops at x2 too, so the rights to her points follow her there (docs/rules.md, "Spending rights").
        #expect(try x2.client().postJSON("/v1/purchases", #"{"receipt_id":"H2","account_id":"alice","amount_fen":100}"#).status == 201)
        #expect(eventually(within: 15) { try heldRights(x2, "alice") == ["x2": 101] })
        clock.set(31 * 86_400_000)
        pair.cut()
        #expect(try send(x1, "DELETE", "/v1/families/fa/members/mule").status == 200)
        #expect(try send(x1, "PUT", "/v1/families/fa/members/mule").status == 200)
        let transfer = try x2.client().postJSON("/v1/transfers", #"{"request_id":"T1","from_account":"alice","to_account":"mule","points":100}"#)
        #expect(transfer.status == 201, "x2 knows nothing of the rejoin: \(transfer.bodyText)")
        #expect(try balance(x2, "mule") == 100)
        try pair.join()
        for node in pair.nodes {
            #expect(try balance(node, "alice") == 101 && balance(node, "mule") == 0, "the transfer is void on the converged history")
            let history = try node.client().getJSON("/v1/accounts/alice/entries")["entries"] as? [[String: Any]] ?? []
            #expect(history.contains { $0["kind"] as? String == "transfer" && $0["void"] as? Bool == true }, "\(history)")
        }
    }

    /// A campaign published at HQ's side of a cut, starting months before (with the reason the
    /// rules require), reaches a store cut off from it when they join: the store credits its own
    /// receipt late, the credit records the reason, and it counts against the chain budget.
    @Test func aBackdatedCampaignCreditsACutOffStoresReceiptWithItsReasonAgainstTheBudget() throws {
        var pair = try CutApartPair(hqFirst: true)
        defer { pair.stop() }
        let (x1, x2) = (pair.x1, pair.x2)
        let month = CalendarMonth(containing: Int64(Date().timeIntervalSince1970 * 1000)).description
        #expect(try x2.client().postJSON("/v1/purchases", #"{"receipt_id":"Z1","account_id":"zoe","amount_fen":10000}"#).status == 201)
        #expect(try x1.client().send("PUT", "/v1/budgets/\(month)/chain", body: Array(#"{"points":1000}"#.utf8)).status == 200)
        let campaign = #"{"name":"Triple","starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","multiplier":3,"backdate_reason":"catalog printed late"}"#
        #expect(try x1.client().send("PUT", "/v1/campaigns/c3", body: Array(campaign.utf8)).status == 201)
        try pair.join()
        for node in pair.nodes {
            #expect(eventually(within: 15) { try node.client().getJSON("/v1/accounts/zoe")["balance"] as? Int == 300 }, "x3 adds 200 to the 100 earned")
        }
        let history = try x2.client().getJSON("/v1/accounts/zoe/entries")["entries"] as? [[String: Any]] ?? []
        let credit = history.first { $0["kind"] as? String == "campaign-credit" }
        #expect(credit?["backdate_reason"] as? String == "catalog printed late", "\(history)")
        #expect(eventually(within: 15) {
            let budgets = try x1.client().getJSON("/v1/budgets/\(month)")["budgets"] as? [[String: Any]] ?? []
            return budgets.first { $0["scope"] as? String == "chain" }?["used"] as? Int == 300
        }, "the late credit counts against the chain budget")
    }

    /// Points never stack on top of a void definition: x2 rang a receipt up under its ×10
    /// definition of cx, which the merge voids (x1's ×2 came first). The receipt keeps its ×10;
    /// a later backdated ×5 campaign owes it nothing, since cx counts at the larger of its
    /// definitions for that receipt.
    @Test func aLaterCampaignStacksNothingOnAReceiptCreditedUnderAVoidLargerDefinition() throws {
        var pair = try CutApartPair(extraArguments: ["--role", "hq"])
        defer { pair.stop() }
        let (x1, x2) = (pair.x1, pair.x2)
        let window = #""starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","backdate_reason":"announced before""#
        #expect(try x1.client().send("PUT", "/v1/campaigns/cx", body: Array(#"{"name":"Double",\#(window),"multiplier":2}"#.utf8)).status == 201)
        usleep(20_000)
        #expect(try x2.client().send("PUT", "/v1/campaigns/cx", body: Array(#"{"name":"Tenfold",\#(window),"multiplier":10}"#.utf8)).status == 201)
        #expect(try x2.client().postJSON("/v1/purchases", #"{"receipt_id":"V1","account_id":"vic","amount_fen":10000}"#).status == 201)
        try pair.join()
        let joined = RFC3339.format(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(try x2.client().postJSON("/v1/purchases", #"{"receipt_id":"W1","account_id":"wes","amount_fen":10000}"#).status == 201)
        #expect(try x1.client().send("PUT", "/v1/campaigns/cy", body: Array(#"{"name":"Fivefold",\#(window),"multiplier":5}"#.utf8)).status == 201)
        // The campaign reaches x2 and its sweep runs (every 0.5 s); nothing is owed. The sign it
        // ran: cz, published once x2 holds cy, owes W1 (rung up since the join, unlike V1) its
        // bonus, and x2 sweeps campaigns in id order, cz after cy.
        #expect(eventually(within: 15) { (try x2.client().getJSON("/v1/campaigns")["campaigns"] as? [Any])?.count == 2 })
        let marker = #"{"name":"Marker","starts_at":"\#(joined)","ends_at":"2099-01-01T00:00:00Z","bonus_points":7,"backdate_reason":"since the join"}"#
        #expect(try x1.client().send("PUT", "/v1/campaigns/cz", body: Array(marker.utf8)).status == 201)
        #expect(eventually(within: 15) {
            let history = try x2.client().getJSON("/v1/accounts/wes/entries")["entries"] as? [[String: Any]] ?? []
            return history.contains { $0["kind"] as? String == "campaign-credit" && $0["campaign_id"] as? String == "cz" }
        }, "x2 never swept cz: \(x2.log)")
        for node in pair.nodes {
            #expect(try node.client().getJSON("/v1/accounts/vic")["balance"] as? Int == 1_000, "the x10 it earned, and nothing stacked on it")
        }
        let history = try x2.client().getJSON("/v1/accounts/vic/entries")["entries"] as? [[String: Any]] ?? []
        #expect(!history.contains { $0["kind"] as? String == "campaign-credit" }, "\(history)")
    }
}
