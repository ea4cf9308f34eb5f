import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import Testing

/// The domain's red lines, shown over the whole API: every write route in the API description is
/// exercised with a valid request, and then every entry in the ledger is checked. Points reach a
/// customer only from a store's issuance (a receipt) or an audited compensation; they leave a
/// customer only to a redemption, a refund's clawback, a deduction or the debt they repay; no
/// move turns points into anything else, and points go between two customers only by a
/// transfer inside one family between customers who were members for the cooling-off period,
/// as the converged history has it; no balance is below zero.
@Suite struct RedLinesTests {
    /// A valid request for every write route. A route the description lists without a row here
    /// fails the test, so a new way to move points must be looked at here first.
    static let requests: [String: [String]] = [
        "POST /v1/purchases": [#"{"receipt_id":"L1","account_id":"lin","amount_fen":20000}"#, #"{"receipt_id":"L2","account_id":"ming","amount_fen":5000}"#],
        "POST /v1/refunds": [#"{"refund_id":"LF","receipt_id":"L1","amount_fen":5000}"#],
        "POST /v1/redemptions": [#"{"request_id":"LQ","account_id":"lin","points":20}"#,
                                 #"{"request_id":"LB","account_id":"lin","points":25,"reward_id":"bill","bill_amount_fen":1000}"#,
                                 #"{"request_id":"LP","account_id":"family:lins","points":10,"member_id":"ming"}"#],
        "PUT /v1/families/{family_id}/members/{account_id}": [""],
        "DELETE /v1/families/{family_id}/members/{account_id}": [""],
        "POST /v1/transfers": [#"{"request_id":"LT","from_account":"lin","to_account":"ming","points":30}"#,
                               #"{"request_id":"LTP","from_account":"lin","to_account":"family:lins","points":20}"#],
        "PUT /v1/policies/expiry": [#"{"version_id":"long","rule":"months_end","months":24,"effective_at":"2099-01-01T00:00:00Z"}"#],
        "POST /v1/compensations": [#"{"batch_id":"LB","action":"grant","reason":"outage","reference":"INC-1","accounts":["ming"],"points":7}"#,
                                   #"{"batch_id":"LE","action":"extend_expiry","reason":"outage","reference":"INC-1","expiring_from":"2020-01-01T00:00:00Z","expiring_to":"2099-01-01T00:00:00Z","days":3}"#],
        "POST /v1/reminders/acks": [#"{"request_id":"LA","reminders":[{"account_id":"lin","expires_at":"2030-01-01T00:00:00Z","within_days":30}]}"#],
        "POST /v1/accounts/{account_id}/freeze": [#"{"request_id":"LZ","evidence_ref":"C-1","reason":"farming","operator":"op"}"#],
        "POST /v1/accounts/{account_id}/unfreeze": [#"{"request_id":"LU","evidence_ref":"C-1","reason":"cleared","operator":"op"}"#],
        "POST /v1/deductions": [#"{"request_id":"LD","account_id":"lin","points":5,"evidence_ref":"C-1","reason":"fake receipt","operator":"op"}"#],
        "POST /v1/cluster/retirements": [#"{"node_id":"gone-store","force":true}"#],
        "PUT /v1/campaigns/{campaign_id}": [#"{"name":"Double","starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","multiplier":2,"backdate_reason":"announced before"}"#],
        "DELETE /v1/campaigns/{campaign_id}": [""],
        "PUT /v1/categories/{category}/green": [""],
        "PUT /v1/rewards/{reward_id}": [#"{"name":"Bill","points":10,"kind":"bill_deduction"}"#],
        "DELETE /v1/rewards/{reward_id}": [""],
        "PUT /v1/budgets/{month}/{scope}": [#"{"points":100000}"#],
        "PUT /v1/point-value": [#"{"version_id":"v1","points":200,"fen":2500}"#],
    ]
    /// The accounts a route's `{account_id}` stands for, in turn (`lin` when not listed).
    static let pathAccounts: [String: [String]] = ["PUT /v1/families/{family_id}/members/{account_id}": ["lin", "ming"]]

    @Test func pointsComeOnlyFromReceiptsAndCompensationAndGoNowhereElse() throws {
        // The clock moves past the cooling-off period once the family is formed.
        let clock = SharedClock()
        let node = try NodeProcess(extraArguments: ["--node-id", "redlines", "--role", "hq", "--clock-offset-file", clock.path])
        defer { node.stop(); node.removeFiles() }
        let document = try node.client().getJSON("/openapi.json")
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        var writes: [String] = []
        for (path, methods) in paths {
            for method in methods.keys where method != "get" { writes.append("\(method.uppercased()) \(path)") }
        }
        #expect(Set(writes) == Set(Self.requests.keys), "write routes without a request here, or requests for no route")
        for route in writes.sorted(by: { Self.order($0) < Self.order($1) }) {
            try Self.send(route, to: node)
            if route == "PUT /v1/families/{family_id}/members/{account_id}" { clock.set(31 * 86_400_000) }
        }
        // A balance is never below zero: a shortfall is recorded debt.
        for account in ["lin", "ming", "family:lins"] {
            let balance = try node.client().getJSON("/v1/accounts/\(account)")["balance"] as? Int
            #expect((balance ?? -1) >= 0, "\(account): balance \(String(describing: balance))")
        }
        node.stop()
        let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: node.dataDirectory))
        defer { database.connection.close() }
        let entries = try database.reader.entries(of: NodeID(unchecked: "redlines"), after: 0, limit: 1_000)
        #expect(entries.count >= 17)
        for entry in entries {
            for move in entry.moves where move.asset == .points {
                switch (move.debit.customer, move.credit.customer) {
                case (nil, .some):
                    #expect(move.debit.name.hasPrefix("@issued:") || move.debit == .compensated,
                            "\(EntryKinds.name(of: entry.code)) credits a customer from \(move.debit)")
                case (.some, nil):
                    #expect(move.credit.name.hasPrefix("@redeemed") || move.credit.name.hasPrefix("@clawed-back:") || move.credit == .deducted,
                            "\(EntryKinds.name(of: entry.code)) moves a customer's points to \(move.credit)")
                case (.some(let from), .some(let to)):
                    // Only a transfer, standing, inside the family both belonged to at its instant.
                    let family = try LotEvents.family(of: entry), stands = try FamilyCondition.stands(entry, in: database)
                    #expect(entry.code == Transfer.code && family != nil && stands,
                            "\(EntryKinds.name(of: entry.code)) moves points from \(from) to \(to) outside a family")
                case (nil, nil):
                    Issue.record("\(EntryKinds.name(of: entry.code)) moves points between system accounts")
                }
            }
        }
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
    }

    /// The write routes that take points from a customer: each must decide through the one
    /// spending-rights decision point (`SpendingRights`). The rest only add points or change
    /// no customer's. Every route is in exactly one of the two lists.
    static let spendingRoutes: Set<String> = ["POST /v1/refunds", "POST /v1/redemptions", "POST /v1/transfers", "POST /v1/deductions"]

    /// Every spending route, at a node holding none of the customers' spending rights while
    /// their holder is down, is refused for want of rights (a refund, after asking, makes debt
    /// instead of taking points): none takes another node's points, and no account is overdrawn.
    @Test func everySpendingRouteGoesThroughTheOneDecisionPoint() throws {
        // Both run as HQ's nodes: the routes include those only HQ may write (deductions).
        let settings = ["--role", "hq", "--transfer-cooling-off-days", "0", "--rights-wait-ms", "100", "--gossip-interval-ms", "200"]
        let holder = try NodeProcess(extraArguments: ["--node-id", "holder"] + settings)
        let spender = try NodeProcess(extraArguments: ["--node-id", "spender", "--seed", holder.gossipAddress.description] + settings)
        defer {
            spender.stop(); spender.removeFiles(); holder.removeFiles()
        }
        // The holder writes everything but the withdrawals, the leave and the retirement: the
        // customers' points and rights are its own.
        let routes = Set(Self.requests.keys)
        for route in routes.sorted(by: { Self.order($0) < Self.order($1) }) where !route.hasPrefix("DELETE") && !route.contains("retirements") {
            try Self.send(route, to: holder)
        }
        #expect(eventually(within: 15) {
            try spender.client().getJSON("/v1/status")["digest"] as? String == holder.client().getJSON("/v1/status")["digest"] as? String
        })
        holder.kill(SIGKILL)
        for route in Self.spendingRoutes.sorted(by: { Self.order($0) < Self.order($1) }) {
            #expect(routes.contains(route), "\(route) is no write route")
            for response in try Self.send(route, to: spender, expecting: nil, renaming: [("request_id\":\"L", "request_id\":\"S"), ("refund_id\":\"L", "refund_id\":\"S")]) {
                if route == "POST /v1/refunds" {
                    #expect(response.status == 201 && response.json["debt_delta"] as? Int == response.json["points_reversed"] as? Int,
                            "a refund at a node holding none of the points makes debt: \(response.bodyText)")
                } else {
                    #expect(response.errorCode == "insufficient_points_offline", "\(route): \(response.status) \(response.bodyText)")
                }
            }
        }
        for account in ["lin", "ming", "family:lins"] {
            #expect(try spender.client().getJSON("/v1/accounts/\(account)")["overdraft"] as? Int == 0, "\(account) overdrawn")
        }
    }

    /// Sends `route`'s requests to `node`, for each account its path stands for; expects 200 or
    /// 201 unless `expecting` is nil; returns the answers. `renaming` replaces text in each body
    /// (new request ids, so a request is not a replay).
    @discardableResult
    private static func send(_ route: String, to node: NodeProcess, expecting: Set<Int>? = [200, 201],
                             renaming: [(String, String)] = []) throws -> [HTTPClientResponse] {
        let parts = route.split(separator: " ", maxSplits: 1)
        var responses: [HTTPClientResponse] = []
        for account in pathAccounts[route] ?? ["lin"] {
            let path = String(parts[1]).replacingOccurrences(of: "{account_id}", with: account).replacingOccurrences(of: "{family_id}", with: "lins")
                .replacingOccurrences(of: "{campaign_id}", with: "double").replacingOccurrences(of: "{reward_id}", with: "bill")
                .replacingOccurrences(of: "{category}", with: "tea").replacingOccurrences(of: "{month}", with: "2026-11")
                .replacingOccurrences(of: "{scope}", with: "chain")
            for body in (requests[route] ?? []).map({ body in renaming.reduce(body) { $0.replacingOccurrences(of: $1.0, with: $1.1) } }) {
                let response = try node.client().send(String(parts[0]), path, body: Array(body.utf8))
                if let expecting { #expect(expecting.contains(response.status), "\(route) \(account) \(body): \(response.bodyText)") }
                responses.append(response)
            }
        }
        return responses
    }

    /// The catalog first (a purchase earns under the campaign, the bill deduction needs its
    /// reward); purchases before the refund, transfers, redemptions and deduction; the family
    /// before its transfers and pool redemption; the unfreeze after the freeze; withdrawals and
    /// the leave last.
    private static func order(_ route: String) -> Int {
        ["PUT /v1/campaigns/{campaign_id}", "PUT /v1/categories/{category}/green", "PUT /v1/budgets/{month}/{scope}", "PUT /v1/rewards/{reward_id}",
         "POST /v1/purchases", "POST /v1/refunds", "PUT /v1/families/{family_id}/members/{account_id}", "POST /v1/transfers",
         "POST /v1/redemptions", "POST /v1/accounts/{account_id}/freeze", "POST /v1/accounts/{account_id}/unfreeze"].firstIndex(of: route) ?? 20
    }
}
