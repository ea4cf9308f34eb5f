import Foundation
import PointMeshHTTP
import Testing

@Suite struct FraudHoldProcessTests {
    /// A freeze on one node reaches the other: a redemption there is 423, the account view says
    /// since when and why, history shows the evidence; bad freezes are refused naming the field.
    @Test func aFreezeOnOneNodeHoldsOnTheOther() throws {
        let a = try NodeProcess(extraArguments: ["--node-id", "fa", "--gossip-interval-ms", "200"])
        let b = try NodeProcess(extraArguments: ["--node-id", "fb", "--seed", a.gossipAddress.description, "--gossip-interval-ms", "200"])
        defer { for node in [a, b] { node.stop(); node.removeFiles() } }
        #expect(try a.client().postJSON("/v1/purchases", #"{"receipt_id":"E1","account_id":"eve","amount_fen":10000}"#).status == 201)
        let missing = try a.client().postJSON("/v1/accounts/eve/freeze", #"{"request_id":"F0","reason":"farming","operator":"Li Wei"}"#)
        #expect(missing.status == 400 && missing.errorCode == "missing_field" && missing.bodyText.contains("evidence_ref"), "\(missing.bodyText)")
        let body = #"{"request_id":"F1","evidence_ref":"CASE-7","reason":"points farming","operator":"Li Wei"}"#
        let frozen = try a.client().postJSON("/v1/accounts/eve/freeze", body)
        #expect(frozen.status == 201 && frozen.json["frozen"] as? Bool == true, "\(frozen.bodyText)")
        #expect(try a.client().postJSON("/v1/accounts/eve/freeze", body).status == 200, "a retry replays")
        let twice = try a.client().postJSON("/v1/accounts/eve/freeze", #"{"request_id":"F2","evidence_ref":"CASE-7","reason":"again","operator":"Li Wei"}"#)
        #expect(twice.status == 409 && twice.errorCode == "already_frozen")
        let arrived = eventually(within: 15) { try b.client().getJSON("/v1/accounts/eve")["frozen"] as? Bool == true }
        #expect(arrived)
        let view = try b.client().getJSON("/v1/accounts/eve")
        #expect(view["frozen_reason"] as? String == "points farming" && view["frozen_evidence_ref"] as? String == "CASE-7"
                && view["frozen_by"] as? String == "Li Wei" && view["frozen_since"] is String, "\(view)")
        let refused = try b.client().postJSON("/v1/redemptions", #"{"request_id":"Q1","account_id":"eve","points":10}"#)
        #expect(refused.status == 423 && refused.errorCode == "account_frozen", "\(refused.bodyText)")
        #expect(try b.client().postJSON("/v1/purchases", #"{"receipt_id":"E2","account_id":"eve","amount_fen":1000}"#).status == 201,
                "a frozen account keeps earning")
        let deducted = try b.client().postJSON("/v1/deductions",
                                               #"{"request_id":"D1","account_id":"eve","points":30,"evidence_ref":"CASE-7","reason":"fake receipts","operator":"Li Wei"}"#)
        #expect(deducted.status == 201 && deducted.json["balance"] as? Int == 80, "\(deducted.bodyText)")
        let history = try b.client().getJSON("/v1/accounts/eve/entries")["entries"] as? [[String: Any]] ?? []
        #expect(history.map { $0["kind"] as? String } == ["deduct", "earn", "freeze", "earn"], "\(history.map { $0["kind"] ?? "" })")
        #expect(history.first { $0["kind"] as? String == "freeze" }?["evidence_ref"] as? String == "CASE-7")
        let notFrozen = try b.client().postJSON("/v1/accounts/nobody/unfreeze", #"{"request_id":"U9","evidence_ref":"x","reason":"y","operator":"z"}"#)
        #expect(notFrozen.status == 409 && notFrozen.errorCode == "not_frozen")
        #expect(try b.client().postJSON("/v1/accounts/eve/unfreeze", #"{"request_id":"U1","evidence_ref":"CASE-7","reason":"cleared","operator":"Li Wei"}"#).status == 201)
        #expect(try b.client().postJSON("/v1/redemptions", #"{"request_id":"Q2","account_id":"eve","points":10}"#).status == 201)
        for node in [a, b] { #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0) }
    }
}
