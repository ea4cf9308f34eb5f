import Foundation
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
    ])
    func argumentErrorsPrintUsageAndExit2(arguments: [String]) throws {
        let result = try runPointmesh(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains("Usage: pointmesh"))
    }

    @Test func everyCommandHasHelp() throws {
        let top = try runPointmesh(["--help"])
        #expect(top.status == 0)
        for command in ["serve", "earn", "refund", "redeem", "balance", "history", "status", "retire", "verify", "bench", "openapi"] {
            #expect(top.stdout.contains(command))
            let help = try runPointmesh([command, "--help"])
            #expect(help.status == 0 && help.stdout.contains("Usage: pointmesh \(command)"), "\(command)")
        }
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
        #expect(unreachable.status == 1 && unreachable.stderr.contains("cannot reach node"))
    }
}

@Suite struct OpenAPITests {
    @Test func everyRouteIsDescribedAndDocsMatchWhatIsServed() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = NodeConfiguration()
        configuration.dataDirectory = directory
        configuration.http = HostPort(host: "127.0.0.1", port: 0)
        configuration.gossip = HostPort(host: "127.0.0.1", port: 0)
        let node = try PointMeshNode(configuration: configuration, log: Logger { _ in })
        node.start()
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
}
