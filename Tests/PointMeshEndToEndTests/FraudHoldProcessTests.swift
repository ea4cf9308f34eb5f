import Foundation
import PointMeshHTTP
import Testing

@Suite struct FraudHoldProcessTests {
    /// A freeze on one node reaches the other: a redemption there is 423, the account view says
    /// since when and why, history shows the evidence; bad freezes are refused naming the field.
    @Test func aFreezeOnOneNodeHoldsOnTheOther() throws {
        let a = try NodeProcess(extraArguments: ["--node-id", "fa", "--role", "hq", "--gossip-interval-ms", "200"])
        let b = try NodeProcess(extraArguments: ["--node-id", "fb", "--role", "hq", "--seed", a.gossipAddress.description, "--gossip-interval-ms", "200"])
        defer { for node in [a, b] { node.stop(); node.removeFiles() } }
        #expect(try a.client().postJSON("/v1/purchases", #"{"receipt_id":"E1","account_id":"eve","amount_fen":10000}"#).status == 201)
        let missing = try a.client().postJSON("/v1/accounts/eve/freeze", #"{"request_id":"F0","reason":"farming","operator":"Li Wei"}"#)
        #expect(missing.status == 400 && missing.errorCode == "missing_field" && missing.bodyText.contains("evidence_ref"), "\(missing.bodyText)")
        // Reproduction 9 of "Two stores deciding at once": text that shows nothing is refused in
        // every field an auditor reads, naming the field, and nothing is written.
        for invisible in [#"\u200b"#, #"\u2060"#, #"\ufeff"#, #"\u00ad"#, #"\u180e"#, #"\u202e"#] {
            func body(_ fields: [(String, String)], blank field: String) -> String {
                "{" + fields.map { name, value in #""\#(name)":"# + (name == field ? #""\#(invisible)""# : value) }.joined(separator: ",") + "}"
            }
            let deduction = [("request_id", #""DX""#), ("account_id", #""eve""#), ("points", "1"), ("evidence_ref", #""E""#), ("reason", #""r""#), ("operator", #""o""#)]
            let freeze = [("request_id", #""FX""#), ("evidence_ref", #""E""#), ("reason", #""r""#), ("operator", #""o""#)]
            let grant = [("batch_id", #""CX""#), ("action", #""grant""#), ("accounts", #"["eve"]"#), ("points", "1000000"), ("reason", #""r""#), ("reference", #""C""#)]
            for (path, fields, blanked) in [("/v1/deductions", deduction, ["evidence_ref", "reason", "operator"]),
                                            ("/v1/accounts/eve/freeze", freeze, ["evidence_ref", "reason", "operator"]),
                                            ("/v1/compensations", grant, ["reason", "reference"])] {
                for field in blanked {
                    let refused = try a.client().postJSON(path, body(fields, blank: field))
                    #expect(refused.status == 400 && refused.errorCode == "invalid_field" && refused.bodyText.contains(field),
                            "\(path) \(field) \(invisible): \(refused.bodyText)")
                }
            }
        }
        #expect(try a.client().getJSON("/v1/status")["entries"] as? Int == 1, "only the purchase was written")
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

    /// The CLI's freeze, deduct and unfreeze, and their usage errors.
    @Test func theCommandLineFreezesDeductsAndUnfreezes() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let url = "http://\(node.httpAddress)"
        #expect(try node.client().postJSON("/v1/purchases", #"{"receipt_id":"C1","account_id":"carl","amount_fen":5000}"#).status == 201)
        let audit = ["--evidence", "CASE-9", "--reason", "fake receipts", "--operator", "Li Wei"]
        let freeze = try runPointmesh(["freeze", "--node", url, "--account", "carl"] + audit)
        #expect(freeze.status == 0 && freeze.stdout.contains("carl frozen"), "\(freeze.stdout)\(freeze.stderr)")
        let deduct = try runPointmesh(["deduct", "--node", url, "--account", "carl", "--points", "20"] + audit)
        #expect(deduct.status == 0 && deduct.stdout.contains("balance 30"), "\(deduct.stdout)\(deduct.stderr)")
        let redeem = try runPointmesh(["redeem", "--node", url, "--account", "carl", "--points", "1"])
        #expect(redeem.status == 1 && redeem.stderr.contains("account_frozen"))
        #expect(try runPointmesh(["unfreeze", "--node", url, "--account", "carl"] + audit).status == 0)
        let usage = try runPointmesh(["freeze", "--node", url, "--account", "carl", "--evidence", "x", "--reason", "y"])
        #expect(usage.status == 2 && usage.stderr.contains("--operator"))
    }
}
