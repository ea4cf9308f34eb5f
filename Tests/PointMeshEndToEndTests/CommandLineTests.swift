import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshNode
import Testing

@Suite struct CommandLineTests {
    @Test func readyLineNamesTheRealPortsAndSIGTERMExitsCleanly() throws {
        let node = try NodeProcess(extraArguments: ["--node-id", "store-7"])
        defer { node.removeFiles() }
        let pattern = #/^pointmesh ready node=store-7 http=127\.0\.0\.1:(\d+) gossip=127\.0\.0\.1:(\d+)$/#
        let match = try #require(node.readyLine.wholeMatch(of: pattern))
        #expect(Int(match.1) != 0 && Int(match.2) != 0)
        #expect(try node.client().getJSON("/v1/status")["node_id"] as? String == "store-7")
        #expect(node.stop() == 0)
        #expect(node.log.contains("stopped cleanly"))
    }

    /// A node started with `--exit-with-parent` stops cleanly once the process that started it
    /// exits (tests start their nodes so: a crashed test run left nodes running). Its parent
    /// here is a shell that starts it in the background and exits two seconds later (the node
    /// takes its parent at startup: one gone before that is not noticed).
    @Test func aNodeStartedWithExitWithParentStopsWhenItsParentExits() throws {
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory); try? FileManager.default.removeItem(atPath: directory + ".log") }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "\"$0\" serve --data \"$1\" --http 127.0.0.1:0 --gossip 127.0.0.1:0 --exit-with-parent > /dev/null 2> \"$1.log\" & echo $!; sleep 2",
                           NodeProcess.binary.path, directory]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        // The node holds the pipe too: read its pid's line, not to the end. (Nor wait for the
        // shell with `waitUntilExit`, which here returns only when the node is gone too.)
        let pid = try #require(Int32(NodeProcess.firstLine(of: output)))
        // Gone, or a zombie its new parent has yet to reap.
        func running(_ process: Int32) -> Bool {
            guard Foundation.kill(process, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(process)/stat", encoding: .utf8),
                  let state = stat.split(separator: ")").last?.split(separator: " ").first else { return false }
            return state != "Z"
        }
        defer { if running(pid) { Foundation.kill(pid, SIGKILL) } }
        #expect(running(pid))
        let deadline = Date().addingTimeInterval(20)
        while running(shell.processIdentifier), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        while running(pid), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!running(shell.processIdentifier) && !running(pid), "the node outlived its parent")
        let log = (try? String(contentsOfFile: directory + ".log", encoding: .utf8)) ?? ""
        #expect(log.contains("exited; stopping (--exit-with-parent)") && log.contains("stopped"), "\(log)")
    }

    @Test func aNodeIDThatDisagreesWithTheDataDirectoryIsAnError() throws {
        let node = try NodeProcess(extraArguments: ["--node-id", "first"])
        node.stop()
        defer { node.removeFiles() }
        let second = try runPointmesh(["serve", "--data", node.dataDirectory, "--node-id", "second", "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("belongs to node 'first'"))
    }

    @Test func gossipBeyondLoopbackNeedsAStrongClusterKey() throws {
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let noKey = try runPointmesh(["serve", "--data", directory, "--http", "127.0.0.1:0", "--gossip", "0.0.0.0:0"])
        #expect(noKey.status == 1)
        #expect(noKey.stderr.contains("needs --cluster-key-file"), "\(noKey.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory), "a refused start must not create the data directory")
        let remoteSeed = try runPointmesh(["serve", "--data", directory, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--seed", "10.1.2.3:7070"])
        #expect(remoteSeed.status == 1 && remoteSeed.stderr.contains("10.1.2.3:7070"))
        let shortKey = directory + ".key"
        try "short".write(toFile: shortKey, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: shortKey) }
        let weak = try runPointmesh(["serve", "--data", directory, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--cluster-key-file", shortKey])
        #expect(weak.status == 1 && weak.stderr.contains("at least 16"))
        let missing = try runPointmesh(["serve", "--data", directory, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--cluster-key-file", directory + ".nokey"])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read cluster key file"))
    }

    /// A config file as editors write them: a byte-order mark, a whole number written `2.0`,
    /// a switch as `true`; and one that isn't JSON is refused with the parser's reason.
    @Test func configFileToleratesEditorsAndExplainsWhatItRefuses() throws {
        let directory = NodeProcess.scratchDirectory()
        let config = directory + ".json"
        defer { try? FileManager.default.removeItem(atPath: config) }
        let tokens = directory + ".tokens"
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        let created = try runPointmesh(["token", "create", "--name", "ops", "--role", "admin"])
        let entry = try #require(created.stdout.split(separator: "\n").first { $0.hasPrefix("tokens file entry: ") })
        try "[\(entry.dropFirst("tokens file entry: ".count))]".write(toFile: tokens, atomically: true, encoding: .utf8)
        let key = directory + ".key"
        defer { try? FileManager.default.removeItem(atPath: key) }
        try "a cluster key of more than sixteen bytes".write(toFile: key, atomically: true, encoding: .utf8)
        for secret in [tokens, key] { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret) }
        let file = #"{"node-id": "bom", "gossip-fanout": 2.0, "protect-reads": true, "tokens-file": "\#(tokens)", "cluster-key-file": "\#(key)"}"#
        try Data([0xEF, 0xBB, 0xBF] + Array(file.utf8)).write(to: URL(fileURLWithPath: config))
        let node = try NodeProcess(dataDirectory: directory, extraArguments: ["--config", config])
        defer { node.stop(); node.removeFiles() }
        #expect(try node.client().send("GET", "/v1/status").status == 401, "protect-reads: true is the switch given")
        try #"{"role": "hq", "role": "store"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try runPointmesh(["serve", "--data", directory + "-2", "--config", config])
        #expect(refused.status == 2 && refused.stderr.contains("is not JSON") && refused.stderr.contains("duplicate"), "\(refused.stderr)")
    }

    @Test func configFileSuppliesOptionsAndFlagsWin() throws {
        let directory = NodeProcess.scratchDirectory()
        let config = directory + ".json"
        try #"{"node-id": "from-config", "role": "hq", "http": "127.0.0.1:1"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        // --http from the flags (port 0) overrides the file's port 1.
        let node = try NodeProcess(dataDirectory: directory, extraArguments: ["--config", config])
        defer { node.stop(); node.removeFiles() }
        let status = try node.client().getJSON("/v1/status")
        #expect(status["node_id"] as? String == "from-config")
        #expect(status["role"] as? String == "hq")
    }

    @Test(arguments: [
        ["frobnicate"],
        [],
        ["serve", "--http", "nonsense"],
        ["serve", "--role", "king"],
        ["serve", "--no-such-flag"],
        ["serve", "--node-id", "bad id"],
        ["earn", "--account", "a"],
        ["earn", "--account", "a", "--receipt", "r", "--amount-fen", "ten"],
        ["redeem", "--account", "a"],
        ["verify"],
        ["earn", "stray", "--account", "a", "--receipt", "r", "--amount-fen", "100"],
        ["balance", "--account", "a", "--account", "b"],
        ["status", "--json", "--json"],
        ["serve", "--data", "x", "--data", "y"],
        ["status", "--timeout", "0"],
    ])
    func argumentErrorsPrintUsageAndExit2(arguments: [String]) throws {
        let result = try runPointmesh(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains("Usage: pointmesh"))
    }

    @Test func everyCommandHasHelp() throws {
        let top = try runPointmesh(["--help"])
        #expect(top.status == 0)
        // Every name stands apart from its summary, the longest too.
        let rows = top.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
        #expect(rows.count > 10 && rows.allSatisfy { $0.dropFirst(2).contains("  ") }, "\(rows)")
        #expect(top.stdout.contains("  compensate  extend expiry"), "\(top.stdout)")
        let zero = try runPointmesh(["status", "--timeout", "0"])
        #expect(zero.stderr.contains("above 0 and at most 3600, got '0'"), "\(zero.stderr)")
        #expect(!top.stdout.contains("bench"), "the benchmarks are pointmesh-bench's: \(top.stdout)")
        for command in ["serve", "earn", "refund", "redeem", "balance", "history", "status", "retire", "verify", "openapi"] {
            #expect(top.stdout.contains(command))
            let help = try runPointmesh([command, "--help"])
            #expect(help.status == 0 && help.stdout.contains("Usage: pointmesh \(command)"), "\(command)")
        }
        // Every command's options parse (each declared once) and its help has a row for each.
        let names = top.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.compactMap { $0.split(separator: " ").first }
        for command in names {
            let unknown = try runPointmesh([String(command), "--no-such-option"])
            #expect(unknown.status == 2 && unknown.stderr.contains("unknown option --no-such-option"), "\(command): \(unknown.stderr)")
        }
        let missing = try runPointmesh(["earn", "--receipt", "R1", "--amount-fen", "100"])
        #expect(missing.status == 2 && missing.stderr.contains("--account ID is required"), "\(missing.stderr)")
    }

    @Test func clientCommandsDriveANode() throws {
        let node = try NodeProcess()
        defer { node.stop(); node.removeFiles() }
        let url = "http://\(node.httpAddress)"
        let earn = try runPointmesh(["earn", "--node", url, "--account", "carol", "--receipt", "C1", "--amount-fen", "25000"])
        #expect(earn.status == 0 && earn.stdout.contains("earned 250 points"), "\(earn.stderr)")
        let redeem = try runPointmesh(["redeem", "--node", url, "--account", "carol", "--points", "100", "--request", "Q1", "--json"])
        #expect(redeem.status == 0 && redeem.stdout.contains(#""balance":150"#))
        let refund = try runPointmesh(["refund", "--node", url, "--receipt", "C1", "--amount-fen", "25000", "--refund", "F1"])
        #expect(refund.status == 0 && refund.stdout.contains("reversed 250 points"))
        let balance = try runPointmesh(["balance", "--node", url, "--account", "carol"])
        #expect(balance.stdout.contains("carol: 0 points (debt 100)"))
        let history = try runPointmesh(["history", "--node", url, "--account", "carol", "--limit", "2"])
        #expect(history.stdout.contains("refund") && history.stdout.contains("more: --before"))
        let status = try runPointmesh(["status", "--node", url])
        #expect(status.stdout.contains("entries 3"))
        let tooMuch = try runPointmesh(["redeem", "--node", url, "--account", "carol", "--points", "1"])
        #expect(tooMuch.status == 1 && tooMuch.stderr.contains("insufficient_points"))
        let unreachable = try runPointmesh(["status", "--node", "http://127.0.0.1:1"])
        #expect(unreachable.status == 3 && unreachable.stderr.contains("cannot reach a node"), "\(unreachable.stderr)")
    }

    @Test func replaysAndDebtAreReportedAsWhatHappened() throws {
        let node = try NodeProcess()
        defer { node.stop(); node.removeFiles() }
        let url = "http://\(node.httpAddress)"
        let earn = ["earn", "--node", url, "--account", "dan", "--receipt", "D1", "--amount-fen", "5000"]
        #expect(try runPointmesh(earn).stdout.contains("earned 50 points"))
        _ = try runPointmesh(["redeem", "--node", url, "--account", "dan", "--points", "40", "--request", "Q1"])
        let replay = try runPointmesh(earn)
        #expect(replay.status == 0)
        #expect(replay.stdout.contains("already recorded at 20"), "\(replay.stdout)")
        #expect(replay.stdout.contains("nothing new was earned") && replay.stdout.contains("Balance now 10"), "\(replay.stdout)")
        #expect(!replay.stdout.hasPrefix("earned"))
        let refund = try runPointmesh(["refund", "--node", url, "--receipt", "D1", "--amount-fen", "5000", "--refund", "F1"])
        #expect(refund.stdout.contains("reversed 50 points") && refund.stdout.contains("40 of them were already spent and became debt"), "\(refund.stdout)")
        let repay = try runPointmesh(["earn", "--node", url, "--account", "dan", "--receipt", "D2", "--amount-fen", "10000"])
        #expect(repay.stdout.contains("earned 100 points for dan (40 of them repaid debt)"), "\(repay.stdout)")
        let redeemAgain = try runPointmesh(["redeem", "--node", url, "--account", "dan", "--points", "40", "--request", "Q1"])
        #expect(redeemAgain.stdout.contains("nothing new was spent"), "\(redeemAgain.stdout)")
        let history = try runPointmesh(["history", "--node", url, "--account", "dan"])
        let lines = history.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("TIME") == true && lines.first?.contains("DEBT") == true, "\(history.stdout)")
        #expect(lines.contains { $0.contains("refund") && $0.contains("+40") }, "the refund's debt shows: \(history.stdout)")
        #expect(lines.contains { $0.contains("D2") && $0.contains("-40") }, "the repayment shows: \(history.stdout)")
    }

    @Test func versionAndExitStatusesAreDocumented() throws {
        let version = try runPointmesh(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("pointmesh \(PointMeshVersion.current)"))
        let help = try runPointmesh(["--help"])
        #expect(help.stdout.contains("3 node unreachable"))
        let earnHelp = try runPointmesh(["earn", "--help"])
        #expect(earnHelp.stdout.contains("--timeout") && earnHelp.stdout.contains("Exit status"))
    }

    @Test func somethingThatIsNotAPointMeshNodeIsSummarisedInOneLine() throws {
        let html = Array(("<html>" + String(repeating: "<p>not here</p>", count: 200) + "</html>").utf8)
        let server = try HTTPServer(configuration: HTTPServerConfiguration(address: HostPort(host: "127.0.0.1", port: 0)), log: { _ in }) { _, respond in
            respond(HTTPResponse(status: 404, headers: [("Content-Type", "text/html")], body: html))
        }
        server.start()
        defer { server.stop() }
        let result = try runPointmesh(["balance", "--node", "http://\(server.address)", "--account", "a"])
        #expect(result.status == 3)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("HTTP 404") && result.stderr.contains("text/html") && !result.stderr.contains("<p>"))
    }

    @Test func aNodeThatDoesNotAnswerTimesOutAsAsked() throws {
        // A listener that never accepts: the connection completes (backlog) but nothing answers.
        let silent = try TCPListener(binding: HostPort(host: "127.0.0.1", port: 0))
        defer { silent.close() }
        let started = Date()
        let result = try runPointmesh(["status", "--node", "http://\(silent.address)", "--timeout", "0.5"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 4, "--timeout 0.5 must not wait the old 30 s")
        // Connected but unanswered: said as such, with the way out (a long report needs time).
        #expect(result.stderr.contains("did not answer within 0.5 s") && result.stderr.contains("--timeout"), "\(result.stderr)")
    }

    @Test func aSecondServeOnOneDataDirectoryIsRefusedNamingTheHolder() throws {
        let node = try NodeProcess(extraArguments: ["--node-id", "owner"])
        defer { node.stop(); node.removeFiles() }
        let second = try runPointmesh(["serve", "--data", node.dataDirectory, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("in use by another pointmesh process (PID \(node.pid))"), "\(second.stderr)")
        #expect(!second.stdout.contains("pointmesh ready"))
        // The first node is unharmed: it still writes.
        let write = try node.client().postJSON("/v1/purchases", #"{"receipt_id":"L1","account_id":"a","amount_fen":100}"#)
        #expect(write.status == 201)
        // Reading beside it stays allowed.
        let verify = try runPointmesh(["verify", "--data", node.dataDirectory])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        // Writing the report sums again needs the directory to itself: refused while the node
        // serves it, done once it stopped.
        let rebuild = try runPointmesh(["verify", "--data", node.dataDirectory, "--rebuild-report-sums"])
        #expect(rebuild.status == 1 && rebuild.stderr.contains("in use by another pointmesh process (PID \(node.pid))"), "\(rebuild.stderr)")
        #expect(try node.client().postJSON("/v1/purchases", #"{"receipt_id":"L2","account_id":"a","amount_fen":100}"#).status == 201)
        node.stop()
        let rebuilt = try runPointmesh(["verify", "--data", node.dataDirectory, "--rebuild-report-sums"])
        #expect(rebuilt.status == 0 && rebuilt.stdout.contains("report sums written again") && rebuilt.stdout.contains("ok: "),
                "\(rebuilt.stdout) \(rebuilt.stderr)")
    }

    @Test func startUpErrorsAreSentences() throws {
        let file = NodeProcess.scratchDirectory() + ".file"
        try "not a directory".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runPointmesh(["serve", "--data", file, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot use \(file) as the data directory: it is a file"), "\(result.stderr)")
        #expect(!result.stderr.contains("Error Domain") && !result.stderr.contains("NSCocoaErrorDomain"))
        let verify = try runPointmesh(["verify", "--data", file + ".missing"])
        #expect(verify.status == 1 && verify.stderr.contains("no ledger"), "\(verify.stderr)")
    }

    @Test func theBenchmarksAreTheirOwnProgram() throws {
        let top = try runPointmeshBench(["--help"])
        #expect(top.status == 0)
        for benchmark in ["writes", "campaigns", "writer", "budget", "account-read", "compensation", "dissemination", "catch-up", "idle", "reports"] {
            #expect(top.stdout.contains("  \(benchmark)"), "\(benchmark) in \(top.stdout)")
            let help = try runPointmeshBench([benchmark, "--help"])
            #expect(help.status == 0 && help.stdout.contains("Usage: pointmesh-bench \(benchmark)"), "\(benchmark)")
        }
        let extra = try runPointmeshBench(["writes", "extra"])
        #expect(extra.status == 2 && extra.stderr.contains("Usage: pointmesh-bench writes"), "\(extra.stderr)")
        let foreign = try runPointmeshBench(["dissemination", "--dir", "/tmp"])
        #expect(foreign.status == 2 && foreign.stderr.contains("unknown option --dir"), "an option of another benchmark: \(foreign.stderr)")
        let gone = try runPointmesh(["bench", "writes"])
        #expect(gone.status == 2 && gone.stderr.contains("unknown command 'bench'"))
    }

    @Test func benchRemovesOnlyTheScratchDirectoryItMade() throws {
        let parent = NodeProcess.scratchDirectory()
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let precious = parent + "/ledger.sqlite"
        try "live data".write(toFile: precious, atomically: true, encoding: .utf8)
        let result = try runPointmeshBench(["writes", "--requests", "20", "--clients", "2", "--dir", parent])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "live data")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["ledger.sqlite"], "the scratch directory is gone, nothing else is")
    }
}

@Suite struct OpenAPITests {
    @Test func everyRouteIsDescribedAndDocsMatchWhatIsServed() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(APIDescription.json.utf8)) as? [String: Any])
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try PointMeshNode.startedOnLoopback(dataDirectory: directory)
        defer { node.stop() }
        #expect(!node.routes.isEmpty)
        for route in node.routes {
            #expect(paths[route.pattern]?[route.method.lowercased()] != nil, "\(route.method) \(route.pattern) is not in the OpenAPI document")
        }
        let served = try HTTPClient(address: node.httpAddress).send("GET", "/openapi.json")
        #expect(served.status == 200)
        let docsURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.json")
        let docs = try String(contentsOf: docsURL, encoding: .utf8)
        #expect(docs == served.bodyText + "\n", "docs/openapi.json is stale: run `pointmesh openapi > docs/openapi.json`")
    }

    /// The description states the limits the node enforces: a campaign's multiplier is 2 to 10
    /// (it once said 1, which the node refuses).
    @Test func theDescriptionStatesTheMultipliersLimits() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(APIDescription.json.utf8)) as? [String: Any])
        let put = ((spec["paths"] as? [String: Any])?["/v1/campaigns/{campaign_id}"] as? [String: Any])?["put"] as? [String: Any]
        let body = ((put?["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any]
        let field = ((body?["schema"] as? [String: Any])?["properties"] as? [String: Any])?["multiplier"] as? [String: Any]
        // An optional field is `anyOf` its type and null.
        let multiplier = (field?["anyOf"] as? [[String: Any]])?.first ?? field
        #expect(multiplier?["minimum"] as? Int == 2 && multiplier?["maximum"] as? Int == 10, "\(multiplier ?? [:])")
    }

    /// Every refusal a kind declares is listed under its status, beside the access refusals
    /// of that status (a transfer's 403 `not_same_family` was once replaced by `forbidden`).
    @Test func everyRefusalAKindDeclaresIsDescribed() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(APIDescription.json.utf8)) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: [String: Any]]])
        for kind in EntryKinds.routed {
            let operation = paths[kind.route]?[kind.method.lowercased()]
            let responses = operation?["responses"] as? [String: [String: Any]] ?? [:]
            for refusal in kind.refusals {
                let description = responses[String(refusal.status)]?["description"] as? String ?? ""
                #expect(description.contains("`\(refusal.code)`"), "\(kind.method) \(kind.route) \(refusal.status): \(description)")
            }
            if kind.access != .open { #expect((responses["403"]?["description"] as? String ?? "").contains("`forbidden`"), "\(kind.route)") }
        }
    }

    /// Every live answer has exactly the fields its description names: nothing undescribed,
    /// nothing required missing (nested objects too). The description is generated from the
    /// same definitions, so this catches a body and its schema drifting apart.
    @Test func liveAnswersMatchTheirDescription() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(APIDescription.json.utf8)) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: [String: Any]]])
        func schema(_ path: String, _ method: String, _ status: String) throws -> [String: Any] {
            let responses = try #require(paths[path]?[method]?["responses"] as? [String: [String: Any]])
            let content = try #require(responses[status]?["content"] as? [String: [String: Any]])
            return try #require(content["application/json"]?["schema"] as? [String: Any])
        }
        func check(_ value: Any, against schema: [String: Any], at place: String) {
            if let object = value as? [String: Any], let properties = schema["properties"] as? [String: [String: Any]] {
                for key in object.keys { #expect(properties[key] != nil, "\(place): \(key) is not described") }
                for key in schema["required"] as? [String] ?? [] { #expect(object[key] != nil, "\(place): required \(key) missing") }
                for (key, field) in object {
                    if let nested = properties[key] { check(field, against: nested, at: "\(place).\(key)") }
                }
            } else if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
                for element in array { check(element, against: items, at: place + "[]") }
            }
        }
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let client = node.client()
        #expect(try client.send("PUT", "/v1/rewards/r", body: Array(#"{"name":"Tea","points":40,"kind":"goods"}"#.utf8)).status == 201)
        let writes: [(String, String, String)] = [
            ("/v1/purchases", #"{"receipt_id":"D1","account_id":"doc","amount_fen":5000,"items":[{"sku":"s","category":"c","amount_fen":5000}]}"#, "201"),
            ("/v1/purchases", #"{"receipt_id":"D1","account_id":"doc","amount_fen":5000,"items":[{"sku":"s","category":"c","amount_fen":5000}]}"#, "200"),
            ("/v1/redemptions", #"{"request_id":"DQ","account_id":"doc","reward_id":"r"}"#, "201"),
            ("/v1/refunds", #"{"refund_id":"DF","receipt_id":"D1","amount_fen":5000}"#, "201"),
        ]
        for (path, body, status) in writes {
            let response = try client.postJSON(path, body)
            #expect(String(response.status) == status, "\(path): \(response.bodyText)")
            check(response.json, against: try schema(path, "post", status), at: path)
        }
        for path in ["/v1/accounts/doc", "/v1/accounts/doc/entries", "/v1/status"] {
            let pattern = path == "/v1/status" ? path : path.replacingOccurrences(of: "/doc", with: "/{account_id}")
            check(try client.getJSON(path), against: try schema(pattern, "get", "200"), at: path)
        }
        let entries = try client.getJSON("/v1/accounts/doc/entries")["entries"] as? [[String: Any]] ?? []
        #expect(entries.count == 3 && entries.allSatisfy { ($0["moves"] as? [Any])?.isEmpty == false })
    }
}
