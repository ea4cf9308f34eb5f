import Foundation
import PointMeshCore
import PointMeshHTTP
@testable import PointMeshNode
import Testing

/// A tokens file with one token per role, private to its owner, in a scratch place (and a
/// cluster key beside it); `remove` deletes both.
struct TokensFixture {
    let path = NSTemporaryDirectory() + "pointmesh-tokens-\(UUID().uuidString).json"
    let tokens: [String: String]

    init(names: [String: Role] = ["till-1": .clerk, "hq-script": .hq, "ops-admin": .admin], mode: Int = 0o600, raw: String? = nil) throws {
        var tokens: [String: String] = [:], entries: [String] = []
        for (name, role) in names.sorted(by: { $0.key < $1.key }) {
            let (token, hash) = AccessTokens.newToken()
            tokens[role.rawValue] = token
            entries.append(#"{"name":"\#(name)","role":"\#(role.rawValue)","token_sha256":"\#(hash)"}"#)
        }
        self.tokens = tokens
        try (raw ?? "[" + entries.joined(separator: ",") + "]").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// A cluster key beside it: a node with tokens needs one.
    var keyPath: String { path + ".key" }
    /// `--tokens-file` and `--cluster-key-file` for a node using this fixture.
    var arguments: [String] {
        if !FileManager.default.fileExists(atPath: keyPath) {
            FileManager.default.createFile(atPath: keyPath, contents: Data("0123456789abcdef0123456789abcdef".utf8), attributes: [.posixPermissions: 0o600])
        }
        return ["--tokens-file", path, "--cluster-key-file", keyPath]
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: keyPath)
    }
}

private func send(_ node: NodeProcess, _ method: String, _ path: String, token: String?, body: String? = nil) throws -> HTTPClientResponse {
    try node.client().send(method, path, body: body.map { Array($0.utf8) } ?? (method == "GET" ? nil : Array("{}".utf8)),
                           headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
}

@Suite(.serialized) struct AccessTests {
    /// Who may call each route, as issue 12 specifies it; written out here, apart from the code,
    /// so a route given the wrong roles fails.
    static let expected: [String: Set<String>?] = [
        "POST /v1/purchases": ["clerk"], "POST /v1/refunds": ["clerk"], "POST /v1/redemptions": ["clerk"], "POST /v1/transfers": ["clerk"],
        "PUT /v1/families/{family_id}/members/{account_id}": ["clerk"], "DELETE /v1/families/{family_id}/members/{account_id}": ["clerk"],
        "GET /v1/families/{family_id}": ["clerk", "hq", "admin"],
        "PUT /v1/campaigns/{campaign_id}": ["hq", "admin"], "DELETE /v1/campaigns/{campaign_id}": ["hq", "admin"],
        "GET /v1/campaigns": ["clerk", "hq", "admin"], "PUT /v1/categories/{category}/green": ["hq", "admin"],
        "PUT /v1/rewards/{reward_id}": ["hq", "admin"], "DELETE /v1/rewards/{reward_id}": ["hq", "admin"], "GET /v1/rewards": ["clerk", "hq", "admin"],
        "PUT /v1/budgets/{month}/{scope}": ["hq", "admin"], "GET /v1/budgets/{month}": ["hq", "admin"],
        "GET /v1/accounts/{account_id}": ["clerk", "hq", "admin"], "GET /v1/accounts/{account_id}/entries": ["clerk", "hq", "admin"],
        "PUT /v1/policies/expiry": ["hq", "admin"], "GET /v1/policies/expiry": ["hq", "admin"],
        "GET /v1/reminders": ["hq", "admin"], "POST /v1/reminders/acks": ["hq", "admin"], "GET /v1/lots": ["hq", "admin"],
        "GET /v1/clashes": ["hq", "admin"], "PUT /v1/point-value": ["hq", "admin"],
        "GET /v1/reports/liability": ["hq", "admin"], "GET /v1/reports/activity": ["hq", "admin"], "GET /v1/feed": ["hq", "admin"],
        "POST /v1/compensations": ["admin"], "POST /v1/cluster/retirements": ["admin"],
        "POST /v1/accounts/{account_id}/freeze": ["admin"], "POST /v1/accounts/{account_id}/unfreeze": ["admin"], "POST /v1/deductions": ["admin"],
        // Open: readable without a token (nil).
        "GET /v1/status": nil, "GET /metrics": nil, "GET /openapi.json": nil, "GET /": nil,
    ]

    /// Every declared route (`LedgerAPI.endpoints`) × {no token, wrong token, clerk, hq, admin}: exactly
    /// 401 without a token the node knows, 403 for a role the route doesn't allow, anything
    /// else (the request's own answer) for one it does; and the description says the same roles.
    @Test func everyRouteAnswersEachTokenAsSpecified() throws {
        let fixture = try TokensFixture()
        defer { fixture.remove() }
        // HQ's node serves every route; a store's refuses HQ's before the token (next test).
        let node = try NodeProcess(extraArguments: fixture.arguments + ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let document = try send(node, "GET", "/openapi.json", token: nil).json
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        var described: Set<String> = []
        for endpoint in LedgerAPI.endpoints {
            let method = endpoint.method.lowercased(), path = endpoint.path
            let operation = paths[path]?[method]
            let route = "\(method.uppercased()) \(path)"
            described.insert(route)
            guard let roles = Self.expected[route] else {
                Issue.record("\(route) is served but this test doesn't say who may call it")
                continue
            }
            let declared = Set((operation as? [String: Any])?["x-roles"] as? [String] ?? [])
            #expect(declared == (roles ?? ["clerk", "hq", "admin"]), "\(route) declares \(declared)")
            let concrete = path.replacingOccurrences(of: "{account_id}", with: "alice").replacingOccurrences(of: "{family_id}", with: "kims")
                .replacingOccurrences(of: "{campaign_id}", with: "c1").replacingOccurrences(of: "{reward_id}", with: "r1")
                .replacingOccurrences(of: "{category}", with: "tea").replacingOccurrences(of: "{month}", with: "2026-11")
                .replacingOccurrences(of: "{scope}", with: "chain")
            for credential in ["none", "wrong", "clerk", "hq", "admin"] {
                let token = credential == "none" ? nil : credential == "wrong" ? "pmt_not-a-token" : fixture.tokens[credential]
                let status = try send(node, method.uppercased(), concrete, token: token).status
                let want: String
                switch (credential, roles) {
                case ("none", nil): want = "allowed"
                case ("none", _), ("wrong", _): want = "401"
                case (_, nil): want = "allowed"
                case (let role, let roles?): want = roles.contains(role) ? "allowed" : "403"
                }
                if want == "allowed" {
                    #expect(status != 401 && status != 403, "\(route) with \(credential): \(status)")
                } else {
                    #expect(String(status) == want, "\(route) with \(credential): \(status), want \(want)")
                }
            }
        }
        #expect(described == Set(Self.expected.keys), "routes without a row here, or rows for no route")
    }

    /// A store's node refuses every route only HQ may originate with 403 `hq_only`, whatever
    /// the token (an admin's too, or none), and serves the others; the description says so.
    @Test func aStoreNodeRefusesWhatOnlyHQOriginatesWhateverTheToken() throws {
        let fixture = try TokensFixture()
        defer { fixture.remove() }
        let node = try NodeProcess(extraArguments: fixture.arguments + ["--role", "store"])
        defer { node.stop(); node.removeFiles() }
        let paths = try send(node, "GET", "/openapi.json", token: nil).json["paths"] as? [String: [String: Any]] ?? [:]
        var refused: Set<String> = []
        for endpoint in LedgerAPI.endpoints where endpoint.method != "GET" {
            let concrete = endpoint.path.replacingOccurrences(of: "{account_id}", with: "alice").replacingOccurrences(of: "{family_id}", with: "kims")
                .replacingOccurrences(of: "{campaign_id}", with: "c1").replacingOccurrences(of: "{reward_id}", with: "r1")
                .replacingOccurrences(of: "{category}", with: "tea").replacingOccurrences(of: "{month}", with: "2026-11")
                .replacingOccurrences(of: "{scope}", with: "chain")
            for credential in ["none", "admin", "hq"] {
                let answer = try send(node, endpoint.method, concrete, token: credential == "none" ? nil : fixture.tokens[credential], body: "{}")
                if answer.errorCode == "hq_only" { refused.insert("\(endpoint.method) \(endpoint.path)") }
                #expect((answer.errorCode == "hq_only") == (endpoint.originators == NodeRole.headquartersOnly),
                        "\(endpoint.method) \(endpoint.path) with \(credential): \(answer.status) \(answer.bodyText)")
            }
            let described = ((paths[endpoint.path]?[endpoint.method.lowercased()] as? [String: Any])?["responses"] as? [String: Any])?["403"] as? [String: Any]
            if endpoint.originators == NodeRole.headquartersOnly {
                #expect("\(described ?? [:])".contains("hq_only"), "\(endpoint.method) \(endpoint.path)'s description names hq_only")
            }
        }
        #expect(refused == Self.onlyHQ, "the routes only HQ's node serves")
    }

    /// What only HQ's node writes (../shared/contract.md): catalog definitions, budgets, expiry
    /// policies, the point value, compensations, freezes, deductions, retirements.
    static let onlyHQ: Set<String> = [
        "PUT /v1/campaigns/{campaign_id}", "DELETE /v1/campaigns/{campaign_id}", "PUT /v1/categories/{category}/green",
        "PUT /v1/rewards/{reward_id}", "DELETE /v1/rewards/{reward_id}", "PUT /v1/budgets/{month}/{scope}", "PUT /v1/policies/expiry",
        "PUT /v1/point-value", "POST /v1/compensations", "POST /v1/accounts/{account_id}/freeze", "POST /v1/accounts/{account_id}/unfreeze",
        "POST /v1/deductions", "POST /v1/cluster/retirements",
    ]

    /// With --protect-reads, status needs a token; an error body says what is wrong.
    @Test func protectedReadsNeedAToken() throws {
        let fixture = try TokensFixture()
        defer { fixture.remove() }
        let node = try NodeProcess(extraArguments: fixture.arguments + ["--protect-reads", "--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let refused = try send(node, "GET", "/v1/status", token: nil)
        #expect(refused.status == 401 && refused.errorCode == "unauthenticated")
        #expect(refused.headers.contains { $0.name.lowercased() == "www-authenticate" })
        #expect(try send(node, "GET", "/v1/status", token: fixture.tokens["clerk"]).status == 200)
        // The dashboard page holds no data: a browser opens it without a token.
        let page = try send(node, "GET", "/", token: nil)
        #expect(page.status == 200 && page.bodyText.contains("<title>PointMesh"), "\(page.status)")
        let forbidden = try send(node, "POST", "/v1/compensations", token: fixture.tokens["hq"])
        #expect(forbidden.status == 403 && forbidden.errorCode == "forbidden" && forbidden.bodyText.contains("admin"), "\(forbidden.bodyText)")
        // Two credentials are refused, whichever comes first; a 401's status line names it.
        for order in [["clerk", "admin"], ["admin", "clerk"]] {
            let twice = try node.client().send("GET", "/v1/status", headers: order.map { ("Authorization", "Bearer \(fixture.tokens[$0] ?? "")") })
            #expect(twice.status == 400 && twice.errorCode == "invalid_header", "\(twice.bodyText)")
        }
        let connection = try TCPConnection.connect(to: node.httpAddress)
        defer { connection.close() }
        try connection.write(Array("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let head = String(decoding: try connection.read(waitingAtMost: 5_000) ?? [], as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"), "\(head)")
    }

    /// Without a tokens file, HTTP beyond loopback is refused at start, in one line, and with one
    /// too unless `--http-insecure` accepts tokens in clear; a tokens file that is
    /// world-readable, malformed or names a token twice is refused too.
    @Test func unsafeSetupsAreRefusedAtStart() throws {
        let data = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let open = try runPointmesh(["serve", "--data", data, "--http", "0.0.0.0:0", "--gossip", "127.0.0.1:0"])
        #expect(open.status == 1 && open.stderr.contains("needs --tokens-file"), "\(open.stderr)")
        let cases: [(TokensFixture, String)] = [
            (try TokensFixture(mode: 0o644), "readable by every user"),
            (try TokensFixture(raw: #"[{"name":"a","role":"clerk"}]"#), "malformed"),
            (try TokensFixture(raw: #"{"name":"a"}"#), "malformed"),
            (try TokensFixture(raw: #"[{"name":"a","role":"boss","token_sha256":"\#(String(repeating: "0", count: 64))"}]"#), "malformed"),
            (try TokensFixture(raw: #"[{"name":"a","role":"clerk","token_sha256":"\#(String(repeating: "0", count: 64))"},{"name":"a","role":"hq","token_sha256":"\#(String(repeating: "1", count: 64))"}]"#), "twice"),
            (try TokensFixture(raw: #"[{"name":"a","role":"clerk","token_sha256":"\#(String(repeating: "0", count: 64))"},{"name":"b","role":"admin","token_sha256":"\#(String(repeating: "0", count: 64))"}]"#), "the same token_sha256"),
        ]
        // With tokens, beyond loopback only when --http-insecure says so (no HTTPS yet).
        let clear = try TokensFixture()
        defer { clear.remove() }
        let inClear = try runPointmesh(["serve", "--data", data, "--http", "0.0.0.0:0", "--gossip", "127.0.0.1:0"] + clear.arguments)
        #expect(inClear.status == 1 && inClear.stderr.contains("bearer tokens in clear") && inClear.stderr.contains("--http-insecure"), "\(inClear.stderr)")
        let keyless = try TokensFixture()
        defer { keyless.remove() }
        let withoutKey = try runPointmesh(["serve", "--data", data, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--tokens-file", keyless.path])
        #expect(withoutKey.status == 1 && withoutKey.stderr.contains("--tokens-file needs --cluster-key-file"), "\(withoutKey.stderr)")
        for (fixture, why) in cases {
            defer { fixture.remove() }
            let result = try runPointmesh(["serve", "--data", data, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"] + fixture.arguments)
            #expect(result.status == 1 && result.stderr.contains(why), "\(why): \(result.stderr)")
        }
    }

    /// Reproduction 4 of "Two stores deciding at once": a second process on the machine, with
    /// no tokens and no key, seeded at a node that has tokens, can't get a write into its ledger.
    @Test func aKeylessLocalNodeCannotWritePastTheTokens() throws {
        let fixture = try TokensFixture()
        defer { fixture.remove() }
        let guarded = try NodeProcess(extraArguments: ["--node-id", "kg", "--gossip-interval-ms", "200"] + fixture.arguments)
        let intruder = try NodeProcess(extraArguments: ["--node-id", "ki", "--seed", guarded.gossipAddress.description, "--gossip-interval-ms", "200"])
        defer { for node in [guarded, intruder] { node.stop(); node.removeFiles() } }
        #expect(try intruder.client().postJSON("/v1/purchases", #"{"receipt_id":"K1","account_id":"mallory","amount_fen":1000000000}"#).status == 201)
        let refused = eventually(within: 10) { try guarded.client().getJSON("/v1/status")["gossip_refusals"] as? Int ?? 0 > 0 }
        #expect(refused, "the guarded node refused the keyless peer")
        #expect(try send(guarded, "GET", "/v1/accounts/mallory", token: fixture.tokens["hq"]).json["balance"] as? Int == 0)
        #expect(try guarded.client().getJSON("/v1/status")["entries"] as? Int == 0)
    }

    /// A write's token name is recorded in its entry and shows in history on another node after
    /// gossip; the CLI sends --token.
    @Test func aWritesTokenNameReachesHistoryOnAnotherNode() throws {
        let fixture = try TokensFixture()
        defer { fixture.remove() }
        let a = try NodeProcess(extraArguments: ["--node-id", "ta", "--gossip-interval-ms", "200"] + fixture.arguments)
        let b = try NodeProcess(extraArguments: ["--node-id", "tb", "--seed", a.gossipAddress.description] + fixture.arguments + [
                                                 "--gossip-interval-ms", "200"])
        defer { for node in [a, b] { node.stop(); node.removeFiles() } }
        let refused = try runPointmesh(["earn", "--node", "http://\(a.httpAddress)", "--account", "tina", "--receipt", "T1", "--amount-fen", "1000"])
        #expect(refused.status == 1 && refused.stderr.contains("unauthenticated"))
        let earned = try runPointmesh(["earn", "--node", "http://\(a.httpAddress)", "--account", "tina", "--receipt", "T1", "--amount-fen", "1000",
                                       "--token", fixture.tokens["clerk"] ?? ""])
        #expect(earned.status == 0, "\(earned.stderr)")
        let synced = eventually(within: 15) {
            let entries = try send(b, "GET", "/v1/accounts/tina/entries", token: fixture.tokens["hq"]).json["entries"] as? [[String: Any]] ?? []
            return entries.first?["made_by"] as? String == "till-1"
        }
        #expect(synced, "the entry reached node b with its token's name")
    }
}
