import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshReplication
import PointMeshTLS
import Testing

private let fastGossip = ["--gossip-interval-ms", "200"]

private func metric(_ node: NodeProcess, _ name: String) throws -> Double? {
    let text = try node.client().send("GET", "/metrics").bodyText
    return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
}

private func purchase(_ receipt: String, _ account: String, _ fen: Int) -> String {
    #"{"receipt_id":"\#(receipt)","account_id":"\#(account)","amount_fen":\#(fen)}"#
}

/// Gossip over TLS between real `pointmesh` processes (issue "Each node proves who it is",
/// item 4): nodes with certificates only, with the cluster key only, and a chain halfway from
/// one to the other; what is refused; what a relay between two nodes sees.
@Suite(.serialized) struct MutualTLSProcessTests {
    /// A chain authority made by `pointmesh tls init-ca`, and node certificates it issues.
    final class Authority {
        let directory = NodeProcess.scratchDirectory()

        init() throws {
            let made = try runPointmesh(["tls", "init-ca", "--dir", directory])
            guard made.status == 0 else { throw NodeProcessError.notReady(made.stderr) }
        }

        /// Node `id`'s certificate files, issued with `role` on first use.
        func files(_ id: String, role: String = "store") throws -> CertificateFiles {
            if !FileManager.default.fileExists(atPath: "\(directory)/\(id).pem") {
                let issued = try runPointmesh(["tls", "issue", "--dir", directory, "--node-id", id, "--role", role])
                guard issued.status == 0 else { throw NodeProcessError.notReady(issued.stderr) }
            }
            return CertificateFiles(certificate: "\(directory)/\(id).pem", key: "\(directory)/\(id).key", authority: "\(directory)/ca.pem")
        }

        /// `serve` arguments for node `id` with `role`: its certificate, key and this authority.
        func arguments(_ id: String, role: String = "store") throws -> [String] {
            let files = try files(id, role: role)
            return ["--node-id", id, "--role", role, "--tls-cert", files.certificate, "--tls-key", files.key, "--tls-ca", files.authority]
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Every node writes; every node ends with every balance.
    func expectConverged(_ nodes: [NodeProcess], accounts: [String], fen: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        for node in nodes {
            for account in accounts {
                #expect(eventually(within: 15) { try balance(node, account) == fen / 100 }, "\(account) at \(node.diagnosis())",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test func nodesWithCertificatesOnlyConvergeAndEachKnowsTheOthersByTheirCertificates() throws {
        let chain = try Authority()
        let hq = try NodeProcess(extraArguments: try chain.arguments("hq", role: "hq") + fastGossip)
        let stores = try ["s1", "s2"].map { id in
            try NodeProcess(extraArguments: try chain.arguments(id) + ["--seed", hq.gossipAddress.description] + fastGossip)
        }
        let nodes = [hq] + stores
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        for (index, node) in nodes.enumerated() {
            #expect(try node.client().postJSON("/v1/purchases", purchase("R\(index)", "acct-tls-\(index)", 5_000)).status == 201)
        }
        expectConverged(nodes, accounts: (0..<3).map { "acct-tls-\($0)" }, fen: 5_000)
        #expect(hq.log.contains("authenticated by node certificates only"))
        stopAndVerify(nodes)
    }

    /// A chain moving from the cluster key to certificates: a node with the key only, one with
    /// both, one with certificates only (told to take unsealed entries of origins that have
    /// shown no certificate). The first and the last can't talk to each other, but every write
    /// reaches every node through the one in the middle. A node on certificates alone that was
    /// not told so takes the sealed entries and not the key-only node's, which nothing vouches for.
    @Test func aChainHalfwayToCertificatesConvergesThroughTheNodesHoldingBoth() throws {
        let chain = try Authority()
        let keyFile = chain.directory + "/cluster.key"
        try "the-cluster-key-of-this-chain-0123".write(toFile: keyFile, atomically: true, encoding: .utf8)
        let both = try NodeProcess(extraArguments: try chain.arguments("m-both", role: "hq") + ["--cluster-key-file", keyFile] + fastGossip)
        let keyOnly = try NodeProcess(extraArguments: ["--node-id", "m-key", "--cluster-key-file", keyFile, "--seed", both.gossipAddress.description] + fastGossip)
        let certificateOnly = try NodeProcess(extraArguments: try chain.arguments("m-cert") + ["--seed", both.gossipAddress.description,
                                                                                               "--accept-unsealed-entries"] + fastGossip)
        let strict = try NodeProcess(extraArguments: try chain.arguments("m-strict") + ["--seed", both.gossipAddress.description] + fastGossip)
        let nodes = [both, keyOnly, certificateOnly]
        defer { for node in nodes + [strict] { node.stop(); node.removeFiles() } }
        for (index, node) in nodes.enumerated() {
            #expect(try node.client().postJSON("/v1/purchases", purchase("M\(index)", "acct-mixed-\(index)", 7_000)).status == 201)
        }
        expectConverged(nodes, accounts: (0..<3).map { "acct-mixed-\($0)" }, fen: 7_000)
        // The two ends learn of each other through the middle, try, and are refused.
        #expect(eventually(within: 15) { keyOnly.log.contains("authentication failed") || certificateOnly.log.contains("authentication failed") })
        expectConverged([strict], accounts: ["acct-mixed-0", "acct-mixed-2"], fen: 7_000)
        #expect((try balance(strict, "acct-mixed-1") ?? 0) == 0, "m-key's entry, unsealed: \(strict.diagnosis())")
        stopAndVerify(nodes + [strict])
    }

    /// A node of another chain, a node with a certificate of this chain but speaking for
    /// another node id, and plain frames: each is refused, logged and counted, while the
    /// chain's own nodes go on converging.
    @Test func foreignCertificatesImpostorsAndPlainFramesAreRefusedWhileTheOthersConverge() throws {
        let chain = try Authority(), foreign = try Authority()
        let hq = try NodeProcess(extraArguments: try chain.arguments("hq", role: "hq") + fastGossip)
        let store = try NodeProcess(extraArguments: try chain.arguments("s1") + ["--seed", hq.gossipAddress.description] + fastGossip)
        let intruder = try NodeProcess(extraArguments: try foreign.arguments("s2") + ["--seed", hq.gossipAddress.description] + fastGossip)
        let nodes = [hq, store, intruder]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        #expect(try intruder.client().postJSON("/v1/purchases", purchase("X1", "acct-intruder", 9_000)).status == 201)
        #expect(eventually(within: 10) { (try hq.client().getJSON("/v1/status")["gossip_refusals"] as? Int ?? 0) > 0 })
        // The intruder logs its side once its session ends, which may be after HQ counted it.
        #expect(eventually(within: 10) { intruder.log.contains("authentication failed") }, "\(intruder.diagnosis())")

        // A certificate of this chain for s3, speaking as s1: refused once it says who it is.
        let context = try TLSContext(clusterKey: nil, files: chain.files("s3"))
        let refusedBefore = try hq.client().getJSON("/v1/status")["gossip_refusals"] as? Int ?? 0
        try Self.introduce(as: "s1", to: hq.gossipAddress, with: context)
        #expect(eventually(within: 5) { hq.log.contains("its certificate is for node s3") }, "\(hq.diagnosis())")
        #expect(eventually(within: 5) { (try hq.client().getJSON("/v1/status")["gossip_refusals"] as? Int ?? 0) > refusedBefore })

        // Plain frames, as a node of release 0.6 sends them.
        let plain = try TCPConnection.connect(to: hq.gossipAddress)
        try plain.write([0, 0, 0, 34, 2, 0x01] + Array(repeating: 7, count: 32))
        _ = try? plain.read(waitingAtMost: 2_000)
        plain.close()
        #expect(eventually(within: 5) { hq.log.contains("speaks unencrypted gossip") })

        for (index, node) in [hq, store].enumerated() {
            #expect(try node.client().postJSON("/v1/purchases", purchase("T\(index)", "acct-own-\(index)", 3_000)).status == 201)
        }
        expectConverged([hq, store], accounts: ["acct-own-0", "acct-own-1"], fen: 3_000)
        #expect(try balance(hq, "acct-intruder") ?? 0 == 0)
        #expect(try balance(store, "acct-intruder") ?? 0 == 0)
        #expect(try balance(intruder, "acct-own-0") ?? 0 == 0)
        let status = try hq.client().getJSON("/v1/status")
        #expect((status["peers"] as? [[String: Any]])?.map { $0["node_id"] as? String } == ["s1"])
    }

    /// A node refuses to start with a certificate that is not its own: another node's, another
    /// role's, or one of a foreign chain; and with half the certificate options.
    @Test func aNodeStartsOnlyWithItsOwnCertificate() throws {
        let chain = try Authority(), foreign = try Authority()
        let data = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let base = ["serve", "--data", data, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"]
        let s7 = try chain.files("s7"), hq = try chain.files("hq", role: "hq"), alien = try foreign.files("s8")
        let cases: [([String], String)] = [
            (["--node-id", "s8", "--tls-cert", s7.certificate, "--tls-key", s7.key, "--tls-ca", s7.authority], "is for node s7"),
            (["--node-id", "hq", "--tls-cert", hq.certificate, "--tls-key", hq.key, "--tls-ca", hq.authority], "role hq"),
            (["--node-id", "s8", "--tls-cert", alien.certificate, "--tls-key", alien.key, "--tls-ca", s7.authority], "does not verify against the authority"),
            (["--node-id", "s7", "--tls-cert", s7.certificate, "--tls-key", hq.key, "--tls-ca", s7.authority], "is not the key of the certificate"),
            (["--node-id", "s7", "--tls-cert", s7.certificate], "go together"),
        ]
        for (arguments, message) in cases {
            let run = try runPointmesh(base + arguments)
            #expect(run.status != 0 && run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    /// A store's node that writes a campaign (its own check removed: the test-only
    /// `POINTMESH_TEST_FORGE_OUT_OF_ROLE`) gossips it under its own id, whose certificate says
    /// store: HQ and the other store refuse it, log it and count it, and take nothing of that
    /// origin from it on; their own writes go on converging.
    @Test func anHQOnlyEntryForgedByAStoreIsRefusedByHQAndTheOtherStores() throws {
        let chain = try Authority()
        let hq = try NodeProcess(extraArguments: try chain.arguments("hq", role: "hq") + fastGossip)
        let honest = try NodeProcess(extraArguments: try chain.arguments("s1") + ["--seed", hq.gossipAddress.description] + fastGossip)
        let forger = try NodeProcess(extraArguments: try chain.arguments("s2") + ["--seed", hq.gossipAddress.description] + fastGossip,
                                     environment: ["POINTMESH_TEST_FORGE_OUT_OF_ROLE": "1"])
        let nodes = [hq, honest, forger]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        let evil = #"{"name":"Evil","starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","bonus_points":100000,"backdate_reason":"forged"}"#
        let forged = try forger.client().send("PUT", "/v1/campaigns/evil", body: Array(evil.utf8))
        #expect(forged.status == 201, "the test switch lets the store write it: \(forged.bodyText)")
        // Without the switch a store refuses it itself.
        #expect(try honest.client().send("PUT", "/v1/campaigns/evil", body: Array(evil.utf8)).errorCode == "hq_only")

        for node in [hq, honest] {
            #expect(eventually(within: 15) { node.log.contains("which a store node may not originate") }, "\(node.diagnosis())")
            #expect((try node.client().getJSON("/v1/status")["gossip_refusals"] as? Int ?? 0) > 0)
        }
        for (index, node) in [hq, honest].enumerated() {
            #expect(try node.client().postJSON("/v1/purchases", purchase("F\(index)", "acct-f-\(index)", 2_000)).status == 201)
        }
        expectConverged([hq, honest], accounts: ["acct-f-0", "acct-f-1"], fen: 2_000)
        let lists = { (node: NodeProcess) in
            ((try? node.client().getJSON("/v1/campaigns")["campaigns"] as? [[String: Any]]) ?? []).contains { $0["campaign_id"] as? String == "evil" }
        }
        #expect(lists(forger))
        #expect(!lists(hq) && !lists(honest))
    }

    /// Entries sealed by their origin (item 2): s1 writes and stops; two relays hold its entries,
    /// one honest, one that raises every earning it passes on by 1,000 points
    /// (`POINTMESH_TEST_ALTER_RELAYED`). A store that never met s1 and first hears of its entries
    /// from the tampering relay refuses them (the seal does not match), logs and counts it, and
    /// takes them as s1 wrote them from the honest relay: sealed entries cross a relay, altered
    /// ones don't.
    @Test func anEntryAlteredInRelayIsRefusedAndTheOriginalTakenFromAnotherRelay() throws {
        let chain = try Authority()
        let origin = try NodeProcess(extraArguments: try chain.arguments("s1") + fastGossip)
        let honest = try NodeProcess(extraArguments: try chain.arguments("s2") + ["--seed", origin.gossipAddress.description] + fastGossip)
        let tampering = try NodeProcess(extraArguments: try chain.arguments("s3") + ["--seed", origin.gossipAddress.description] + fastGossip,
                                        environment: ["POINTMESH_TEST_ALTER_RELAYED": "1"])
        var nodes = [origin, honest, tampering]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        for index in 0..<3 {
            #expect(try origin.client().postJSON("/v1/purchases", purchase("A\(index)", "acct-sealed", 5_000)).status == 201)
        }
        expectConverged([honest, tampering], accounts: ["acct-sealed"], fen: 15_000)
        #expect(origin.stop() == 0)
        #expect(try tampering.client().postJSON("/v1/purchases", purchase("T0", "acct-relay", 2_000)).status == 201)

        let newcomer = try NodeProcess(extraArguments: try chain.arguments("s4") + ["--seed", tampering.gossipAddress.description] + fastGossip)
        nodes.append(newcomer)
        #expect(eventually(within: 15) { newcomer.log.contains("does not match the entries up to it") }, "\(newcomer.diagnosis())")
        #expect(try metric(newcomer, "pointmesh_gossip_seal_refusals_total") ?? 0 > 0)
        // The relay's own entries are its to send, and the original s1 entries come from s2.
        expectConverged([newcomer], accounts: ["acct-relay"], fen: 2_000)
        expectConverged([newcomer], accounts: ["acct-sealed"], fen: 15_000)
        stopAndVerify([honest, tampering, newcomer])
    }

    /// Holdings reports are sealed by their node (issue 28: the horizon folding relies on): s2
    /// relays every other member's report altered (a moment later, saying the member wrote
    /// nothing), its seal left as it was. s1 refuses each, logs and counts it, and keeps the
    /// reports it had; the horizon still passes every write. HQ never writes: its report is
    /// checked with the certificate it proved itself with in sessions, as none of its entries
    /// bring it.
    @Test func aReportAlteredInRelayIsRefusedAndTheHorizonStillPassesEveryWrite() throws {
        let chain = try Authority()
        let reports = ["--holdings-report-interval-ms", "300"] + fastGossip
        let hq = try NodeProcess(extraArguments: try chain.arguments("hq", role: "hq") + reports)
        let honest = try NodeProcess(extraArguments: try chain.arguments("s1") + ["--seed", hq.gossipAddress.description] + reports)
        let tampering = try NodeProcess(extraArguments: try chain.arguments("s2") + ["--seed", hq.gossipAddress.description] + reports,
                                        environment: ["POINTMESH_TEST_ALTER_RELAYED": "1"])
        let nodes = [hq, honest, tampering]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        func horizon(_ node: NodeProcess) throws -> Int64? {
            (try node.client().getJSON("/v1/status")["stable_horizon"] as? String).flatMap(RFC3339.parse)
        }
        var receipts = 0
        func trade() throws {
            receipts += 1
            let node = [honest, tampering][receipts % 2]
            #expect(try node.client().postJSON("/v1/purchases", purchase("T\(receipts)", "acct-\(receipts % 3)", 1_000)).status == 201)
        }
        #expect(eventually(within: 20) {
            try trade()
            return try metric(honest, "pointmesh_gossip_report_refusals_total") ?? 0 > 0
        }, "\(honest.diagnosis())")
        #expect(honest.log.contains("whose seal does not match it: altered or forged"), "\(honest.log)")
        let written = Int64(Date().timeIntervalSince1970 * 1_000)
        #expect(eventually(within: 20) {
            try trade()
            return try [hq, honest].allSatisfy { try horizon($0).map { $0 > written } ?? false }
        }, "horizons: \((try? nodes.map(horizon)) ?? [])")
        #expect(try metric(hq, "pointmesh_gossip_report_refusals_total") ?? 0 > 0, "HQ takes s1's reports from s2 altered too")
    }

    /// A retired node's certificate is refused (item 1): s2 stops, is retired, and comes back
    /// with its certificate; the others refuse it, and what it writes then reaches nobody.
    @Test func aRetiredNodesCertificateIsRefused() throws {
        let chain = try Authority()
        let hq = try NodeProcess(extraArguments: try chain.arguments("hq", role: "hq") + fastGossip)
        let store = try NodeProcess(extraArguments: try chain.arguments("r2") + ["--seed", hq.gossipAddress.description] + fastGossip)
        var nodes = [hq, store]
        defer { for node in nodes { node.stop(); node.removeFiles() } }
        #expect(try store.client().postJSON("/v1/purchases", purchase("B0", "acct-retired", 3_000)).status == 201)
        expectConverged([hq], accounts: ["acct-retired"], fen: 3_000)
        #expect(store.stop() == 0)
        #expect(try hq.client().postJSON("/v1/cluster/retirements", #"{"node_id":"r2","force":true}"#).status == 200)
        let back = try NodeProcess(dataDirectory: store.dataDirectory,
                                   extraArguments: try chain.arguments("r2") + ["--seed", hq.gossipAddress.description] + fastGossip)
        nodes.append(back)
        #expect(eventually(within: 15) { hq.log.contains("its certificate is no longer accepted") }, "\(hq.diagnosis())")
        // A session it tries after this write is refused too, and the write is not at HQ.
        let refusals = { (try? hq.client().getJSON("/v1/status")["gossip_refusals"] as? Int) ?? 0 }
        let before = refusals()
        _ = try back.client().postJSON("/v1/purchases", purchase("B1", "acct-retired-late", 3_000))
        #expect(eventually(within: 20) { refusals() > before }, "\(back.diagnosis())")
        #expect((try balance(hq, "acct-retired-late") ?? 0) == 0, "a write of the retired node reached HQ")
    }

    /// Status and metrics say when the node's certificate ends; SIGHUP loads renewed files
    /// without a restart, and files that don't load leave the current certificate in use.
    @Test func aCertificateIsReloadedOnSIGHUPAndItsExpiryShows() throws {
        let chain = try Authority()
        let hq = try NodeProcess(extraArguments: try chain.arguments("hq", role: "hq") + fastGossip)
        let store = try NodeProcess(extraArguments: try chain.arguments("s1") + ["--seed", hq.gossipAddress.description] + fastGossip)
        defer { for node in [hq, store] { node.stop(); node.removeFiles() } }
        let daysLeft = { try store.client().getJSON("/v1/status")["certificate_days_left"] as? Int }
        #expect(try daysLeft() == 396)
        #expect(try store.client().send("GET", "/metrics").bodyText.contains("pointmesh_tls_certificate_expiry_seconds "))

        // Renewed for 10 days (a short one, so the warning shows), written over the old files.
        let renewed = chain.directory + "/renewed"
        let issued = try runPointmesh(["tls", "issue", "--dir", chain.directory, "--node-id", "s1", "--role", "store", "--days", "10", "--out", renewed])
        #expect(issued.status == 0, "\(issued.stderr)")
        let files = try chain.files("s1")
        for (from, to) in [(renewed + "/s1.pem", files.certificate), (renewed + "/s1.key", files.key)] {
            try FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        store.kill(SIGHUP)
        #expect(eventually(within: 5) { try daysLeft() == 9 }, "\(store.diagnosis())")
        #expect(store.log.contains("reloaded the node certificate") && store.log.contains("days left"))

        // A broken file: logged, and the renewed certificate stays in use.
        try "not a certificate".write(toFile: files.certificate, atomically: true, encoding: .utf8)
        store.kill(SIGHUP)
        #expect(eventually(within: 5) { store.log.contains("reload failed") })
        #expect(try daysLeft() == 9)
        #expect(try store.client().postJSON("/v1/purchases", purchase("H1", "acct-reload", 4_000)).status == 201)
        #expect(eventually(within: 15) { try balance(hq, "acct-reload") == 40 }, "\(store.diagnosis())")
    }

    /// Two nodes talk through a relay the test puts between them: what crosses holds no
    /// customer id, receipt or amount in clear.
    @Test func bytesCapturedBetweenTwoNodesHoldNoCustomerDataInClear() throws {
        let keys = NodeProcess.scratchDirectory()
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        try "the-cluster-key-of-this-chain-0123".write(toFile: keys + "/key", atomically: true, encoding: .utf8)
        let first = try NodeProcess(extraArguments: ["--node-id", "c1", "--cluster-key-file", keys + "/key"] + fastGossip)
        let relay = try CapturingRelay(to: first.gossipAddress)
        let second = try NodeProcess(extraArguments: ["--node-id", "c2", "--cluster-key-file", keys + "/key", "--seed", relay.address.description] + fastGossip)
        defer { for node in [first, second] { node.stop(); node.removeFiles() }; relay.stop() }
        #expect(try second.client().postJSON("/v1/purchases", purchase("receipt-in-clear-77", "customer-in-clear-4242", 123_400)).status == 201)
        #expect(eventually(within: 15) { try balance(first, "customer-in-clear-4242") == 1_234 })
        let captured = relay.captured
        #expect(captured.count > 1_000, "the relay carried \(captured.count) bytes")
        for secret in ["customer-in-clear-4242", "receipt-in-clear-77"] {
            #expect(captured.firstRange(of: Array(secret.utf8)) == nil, "\(secret) crossed in clear")
        }
    }

    /// Opens a TLS session to `address` with `context`, runs the gossip handshake, and says it
    /// is node `id`; returns the peer's answer, if any, once it came or the peer hung up.
    @discardableResult
    static func introduce(as id: String, to address: HostPort, with context: TLSContext) throws -> GossipMessage? {
        let socket = try TCPConnection.connect(to: address)
        defer { socket.close() }
        let channel = try TLSChannel(context: context, fd: socket.fd, role: .client, timeoutMilliseconds: 5_000)
        return try introduce(as: id, key: ClusterKey(bytes: channel.exportedKey(label: "EXPORTER-pointmesh-gossip-frames")),
                             read: { try channel.read(waitingAtMost: 5_000) }, write: { try channel.write($0) })
    }

    /// The gossip handshake under `key` and an `introduce` as node `id`, over `read` and
    /// `write`; the peer's answer to the introduction, if any.
    static func introduce(as id: String, key: ClusterKey, read: () throws -> [UInt8]?, write: ([UInt8]) throws -> Void) throws -> GossipMessage? {
        var codec = FrameCodec(role: .initiator)
        var handshake = Handshake(role: .initiator, key: key, nonce: Array(repeating: 1, count: Handshake.nonceLength))
        func receive() throws -> GossipMessage? {
            while true {
                if let message = try codec.next() { return message }
                guard let bytes = try read(), !bytes.isEmpty else { return nil }
                codec.append(bytes)
            }
        }
        try write(codec.encode(handshake.hello()))
        guard let challenge = try receive(), let proof = try handshake.receive(challenge) else { return nil }
        try write(codec.encode(proof))
        guard let sessionKey = handshake.sessionKey, let version = handshake.version else { return nil }
        codec.use(version: version)
        codec.authenticate(with: sessionKey)
        try write(codec.encode(.introduce(node: NodeID(unchecked: id), address: "127.0.0.1:1", exchanges: ["replication"])))
        return try? receive()
    }

    /// While a chain upgrades, `--accept-unencrypted-gossip` lets a node of this release gossip
    /// with nodes of the one before in their unencrypted frames: it takes their sessions, and
    /// falls back to their frames when one hangs up on its TLS hello. Without the option both
    /// are refused (`foreignCertificatesImpostorsAndPlainFramesAreRefusedWhileTheOthersConverge`).
    @Test func duringAnUpgradeANodeGossipsWithTheEarlierReleaseOnlyWhenToldTo() throws {
        let keys = NodeProcess.scratchDirectory()
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        let keyText = "the-cluster-key-of-this-chain-0123"
        try keyText.write(toFile: keys + "/key", atomically: true, encoding: .utf8)
        // A node of the earlier release, as far as this test needs one: it hangs up on the first
        // connection (a TLS hello reads to it as an oversized frame) and keeps the opening bytes
        // of the second.
        let earlier = try TCPListener(binding: HostPort(host: "127.0.0.1", port: 0))
        defer { earlier.close() }
        let node = try NodeProcess(extraArguments: ["--node-id", "u1", "--cluster-key-file", keys + "/key", "--accept-unencrypted-gossip",
                                                    "--seed", earlier.address.description] + fastGossip)
        defer { node.stop(); node.removeFiles() }
        #expect(node.log.contains("--accept-unencrypted-gossip"))

        let first = try #require(try earlier.accept(waitingAtMost: 5_000))
        #expect(try first.read(waitingAtMost: 2_000)?.first == 22)
        first.close()
        let second = try #require(try earlier.accept(waitingAtMost: 5_000))
        defer { second.close() }
        let opening = try second.read(waitingAtMost: 2_000) ?? []
        #expect(Array(opening.prefix(6)) == [0, 0, 0, 36, 2, 0x01], "an unencrypted hello: \(opening.prefix(8))")

        // The earlier release's session opened on the node: taken, and answered.
        let socket = try TCPConnection.connect(to: node.gossipAddress)
        defer { socket.close() }
        let answer = try Self.introduce(as: "u0", key: ClusterKey(bytes: Array(keyText.utf8)),
                                        read: { try socket.read(waitingAtMost: 5_000) }, write: { try socket.write($0) })
        guard case .introduce(let id, _, _) = answer else {
            Issue.record("expected the node's introduction, got \(String(describing: answer)): \(node.diagnosis())")
            return
        }
        #expect(id.rawValue == "u1")

        let refused = try runPointmesh(["serve", "--data", keys + "/data", "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--accept-unencrypted-gossip"])
        #expect(refused.status != 0 && refused.stderr.contains("--accept-unencrypted-gossip needs --cluster-key-file"), "\(refused.stderr)")
    }
}

/// A TCP relay on loopback to `target`, keeping every byte it carries either way.
final class CapturingRelay: @unchecked Sendable {
    private let listener: TCPListener
    private let target: HostPort
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var stopped = false
    private var open: [TCPConnection] = []

    var address: HostPort { listener.address }
    var captured: [UInt8] { lock.withLock { bytes } }

    init(to target: HostPort) throws {
        listener = try TCPListener(binding: HostPort(host: "127.0.0.1", port: 0))
        self.target = target
        Thread { [self] in
            while !lock.withLock({ stopped }) {
                guard let client = try? listener.accept(waitingAtMost: 100) else { continue }
                guard let server = try? TCPConnection.connect(to: target) else { client.close(); continue }
                lock.withLock { open += [client, server] }
                Thread { [self] in pump(from: client, to: server) }.start()
                Thread { [self] in pump(from: server, to: client) }.start()
            }
        }.start()
    }

    private func pump(from source: TCPConnection, to sink: TCPConnection) {
        while !lock.withLock({ stopped }) {
            do {
                guard let chunk = try source.read(waitingAtMost: 100) else { continue }
                if chunk.isEmpty { break }
                lock.withLock { bytes += chunk }
                try sink.write(chunk)
            } catch {
                break
            }
        }
        source.shutdown()
        sink.shutdown()
    }

    func stop() {
        let sockets = lock.withLock {
            stopped = true
            return open
        }
        for socket in sockets { socket.shutdown() }
        usleep(200_000)
        for socket in sockets { socket.close() }
        listener.close()
    }
}
