import Foundation
import PointMeshHTTP
import PointMeshTLS
import Testing

/// The API over HTTPS from a real `pointmesh` process (issue "Each node proves who it is",
/// item 5): curl and the CLI verify it against the chain's authority, plain HTTP to the port
/// is refused cleanly, and a node with tokens beyond loopback serves HTTPS without
/// `--http-insecure`.
@Suite struct HTTPSProcessTests {
    /// An authority and a certificate for `127.0.0.1` and `localhost`-less use: tills dial the
    /// node by the address the certificate names.
    final class Certificates {
        let directory = NodeProcess.scratchDirectory()
        var authority: String { directory + "/ca.pem" }
        var certificate: String { directory + "/s1.pem" }
        var key: String { directory + "/s1.key" }

        init() throws {
            for arguments in [["tls", "init-ca", "--dir", directory],
                              ["tls", "issue", "--dir", directory, "--node-id", "s1", "--role", "store", "--host", "127.0.0.1"]] {
                let run = try runPointmesh(arguments)
                guard run.status == 0 else { throw NodeProcessError.notReady(run.stderr) }
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func purchase(_ receipt: String, _ account: String, _ fen: Int) -> [UInt8] {
        Array(#"{"receipt_id":"\#(receipt)","account_id":"\#(account)","amount_fen":\#(fen)}"#.utf8)
    }

    @Test func curlTheCLIAndClientsVerifyTheNodeOverHTTPSAndPlainHTTPIsRefused() throws {
        let files = try Certificates()
        let node = try NodeProcess(extraArguments: ["--http-tls-cert", files.certificate, "--http-tls-key", files.key])
        defer { node.stop(); node.removeFiles() }
        let port = node.httpAddress.port
        let client = HTTPClient(address: node.httpAddress, timeoutMilliseconds: 5_000, tls: try TLSContext.httpsClient(authority: files.authority))
        let earned = try client.send("POST", "/v1/purchases", body: Self.purchase("S1", "acct-https", 12_300))
        #expect(earned.status == 201, "\(earned.bodyText)")
        // Keep-alive: the same TLS connection answers again.
        #expect(try client.send("GET", "/v1/accounts/acct-https").json["balance"] as? Int == 123)

        let curlPath = try #require(["/usr/bin/curl", "/usr/local/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }, "curl")
        let curl = try runProgram(URL(fileURLWithPath: curlPath), ["-sS", "--cacert", files.authority, "https://127.0.0.1:\(port)/v1/accounts/acct-https"])
        #expect(curl.status == 0 && curl.stdout.contains(#""balance":123"#), "\(curl.stdout) \(curl.stderr)")
        // 60: curl's "peer certificate cannot be authenticated with known CA certificates".
        let untrusting = try runProgram(URL(fileURLWithPath: curlPath), ["-sS", "https://127.0.0.1:\(port)/v1/status"])
        #expect(untrusting.status == 60, "curl without the authority must refuse the certificate: \(untrusting.status) \(untrusting.stderr)")

        let cli = try runPointmesh(["balance", "--account", "acct-https", "--node", "https://127.0.0.1:\(port)", "--ca", files.authority])
        #expect(cli.status == 0 && cli.stdout.contains("123"), "\(cli.stdout) \(cli.stderr)")
        let cliUntrusting = try runPointmesh(["balance", "--account", "acct-https", "--node", "https://127.0.0.1:\(port)"])
        #expect(cliUntrusting.status == 3, "\(cliUntrusting.stdout) \(cliUntrusting.stderr)")

        // The certificate names 127.0.0.1, not localhost: a client dialling localhost refuses it.
        let wrongName = HTTPClient(address: HostPort(host: "localhost", port: port), timeoutMilliseconds: 5_000,
                                   tls: try TLSContext.httpsClient(authority: files.authority))
        #expect {
            try wrongName.send("GET", "/v1/status")
        } throws: { error in
            guard case TLSError.handshake(let reason) = error else { return false }
            return reason.lowercased().contains("hostname mismatch")
        }

        // Plain HTTP to the HTTPS port: a plain answer saying so, and the connection closed.
        let plain = try HTTPClient(address: node.httpAddress, timeoutMilliseconds: 5_000).send("GET", "/v1/status")
        #expect(plain.status == 400 && plain.errorCode == "https_required", "\(plain.bodyText)")
        // Garbage after a TLS record header, then a silent hang-up: the node keeps serving.
        let garbage = try TCPConnection.connect(to: node.httpAddress)
        try garbage.write([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        _ = try? garbage.read(waitingAtMost: 1_000)
        garbage.close()
        #expect(try client.send("GET", "/v1/accounts/acct-https").status == 200)
    }

    /// SIGHUP loads a renewed HTTPS certificate for the connections after it (here one of
    /// another authority, so a client can tell them apart); a file that doesn't load is logged
    /// and the one in use stays.
    @Test func aRenewedHTTPSCertificateIsServedAfterSIGHUP() throws {
        let files = try Certificates(), renewed = try Certificates()
        let node = try NodeProcess(extraArguments: ["--http-tls-cert", files.certificate, "--http-tls-key", files.key])
        defer { node.stop(); node.removeFiles() }
        func answers(trusting authority: String) -> Bool {
            guard let context = try? TLSContext.httpsClient(authority: authority) else { return false }
            return (try? HTTPClient(address: node.httpAddress, timeoutMilliseconds: 5_000, tls: context).send("GET", "/v1/status").status) == 200
        }
        #expect(answers(trusting: files.authority) && !answers(trusting: renewed.authority))
        for (from, to) in [(renewed.certificate, files.certificate), (renewed.key, files.key)] {
            try FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        node.kill(SIGHUP)
        #expect(eventually(within: 5) { answers(trusting: renewed.authority) }, "\(node.diagnosis())")
        #expect(!answers(trusting: files.authority))
        #expect(node.log.contains("reloaded the HTTPS certificate"))

        try "not a certificate".write(toFile: files.certificate, atomically: true, encoding: .utf8)
        node.kill(SIGHUP)
        #expect(eventually(within: 5) { node.log.contains("HTTPS reload failed") })
        #expect(answers(trusting: renewed.authority))
    }

    /// An HTTPS client whose handshake failed never sends the request in clear on a later try
    /// (it once kept the socket and wrote the next request, token and all, unencrypted).
    @Test func aFailedHandshakeNeverLeavesAPlainConnection() throws {
        let files = try Certificates()
        let plainNode = try NodeProcess()
        defer { plainNode.stop(); plainNode.removeFiles() }
        let client = HTTPClient(address: plainNode.httpAddress, timeoutMilliseconds: 2_000, tls: try TLSContext.httpsClient(authority: files.authority))
        for _ in 0..<3 {
            // A plain node reads the TLS hello as the start of a request and waits for the rest.
            #expect(throws: TLSError.timedOut) { try client.send("GET", "/v1/status", headers: [("Authorization", "Bearer secret")]) }
        }
    }

    /// Tokens beyond loopback need HTTPS or `--http-insecure`; with HTTPS the node starts.
    @Test func aNodeWithTokensServesBeyondLoopbackOverHTTPS() throws {
        let files = try Certificates()
        let keys = try TokensFixture()
        defer { keys.remove() }
        let node = try NodeProcess(extraArguments: ["--http-tls-cert", files.certificate, "--http-tls-key", files.key] + keys.arguments,
                                   httpHost: "0.0.0.0")
        defer { node.stop(); node.removeFiles() }
        #expect(node.log.contains("serving the API over HTTPS"))
        #expect(!node.log.contains("--http-insecure"))
        let half = try runPointmesh(["serve", "--data", node.dataDirectory + "-2", "--http-tls-cert", files.certificate])
        #expect(half.status == 2 && half.stderr.contains("go together"), "\(half.stderr)")
    }
}
