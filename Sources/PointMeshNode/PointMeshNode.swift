import Foundation
import PointMeshCore
import PointMeshReplication
import PointMeshHTTP
import PointMeshStore
import PointMeshTLS
import Synchronization

/// One running node: the ledger store, its HTTP API and its gossip listener, wired together.
/// The shell around the pure core; it owns every socket, file and clock.
public final class PointMeshNode: Sendable {
    public let configuration: NodeConfiguration
    public let store: LedgerStore
    private let http: HTTPServer
    private let gossip: GossipService
    private let lateCampaigns: Mutex<LateCampaignSweeper?> = Mutex(nil)
    private let log: Logger
    /// Every method and path pattern the HTTP API answers (the OpenAPI test checks each).
    public let routes: [(method: String, pattern: String)]
    private let keyNote: String

    /// Opens the data directory and binds both ports; call `start()` to begin serving.
    public init(configuration: NodeConfiguration, log startLog: Logger) throws {
        self.configuration = configuration
        // Refuse a bad set-up (gossip credentials, tokens, the HTTPS certificate) before touching
        // the data directory.
        let (tls, clusterKey, keyNote) = try Self.gossipCredentials(configuration)
        let unencryptedKey = try Self.unencryptedGossipKey(configuration, clusterKey: clusterKey)
        let tokens = try Self.accessTokens(configuration)
        var https: TLSContext?
        if let files = configuration.httpsFiles {
            do {
                https = try TLSContext.httpsServer(certificate: files.certificate, key: files.key)
            } catch {
                throw NodeError.credentials(error)
            }
        }
        if let certified = tls.certificate { try Self.checkOwn(certified, nodeID: configuration.nodeID, role: configuration.role) }
        let (sealPolicy, sealer) = try Self.sealing(configuration)
        store = try LedgerStore(
            directory: configuration.dataDirectory, nodeID: try configuration.nodeID ?? tls.certificate.map { try NodeID(validating: $0.nodeID) },
            newNodeID: Self.generateNodeID, clock: configuration.clock, sealPolicy: sealPolicy, log: { startLog.warning($0) },
            progress: { startLog.info($0) })
        if let sealer { try store.seal(with: sealer) }
        // From here on every line says which node it is from.
        let log = startLog.with(["node": store.nodeID.rawValue])
        self.log = log
        let metrics = NodeMetrics()
        var httpConfiguration = HTTPServerConfiguration(address: configuration.http)
        httpConfiguration.timeouts = configuration.httpTimeouts
        httpConfiguration.maximumConnections = configuration.maximumConnections
        let clock = configuration.clock
        httpConfiguration.monotonicMilliseconds = { clock.monotonicMilliseconds() }
        httpConfiguration.tls = https
        // The HTTP server is created before the API so the API's gauges can read it; the
        // handler reaches the router through this box, filled in just below.
        let routerBox = RouterBox()
        let logsRequests = log.isEnabled(.debug)
        http = try HTTPServer(configuration: httpConfiguration, log: { log.warning($0) }) { request, respond in
            let started = logsRequests ? clock.monotonicNanoseconds() : 0
            let counted: HTTPServer.Responder = { response in
                metrics.recordResponse(status: response.status)
                if logsRequests {
                    log.debug("request", ["method": request.method, "path": request.path, "status": String(response.status),
                                          "duration_ms": String(format: "%.3f", clock.seconds(since: started) * 1_000)])
                }
                respond(response)
            }
            guard let router = routerBox.router else {
                return counted(.error(503, code: "starting", message: "the node is starting"))
            }
            router.handle(request, respond: counted)
        }
        let gossipListener = try TCPListener(binding: configuration.gossip)
        gossip = try GossipService(
            store: store, listener: gossipListener, advertised: gossipListener.address, seeds: configuration.seeds,
            tls: tls, unencryptedKey: unencryptedKey, settings: configuration.gossipSettings, clock: clock, log: log)
        self.keyNote = keyNote
        let server = http
        var api = LedgerAPI(store: store, role: configuration.role, metrics: metrics, log: log, gossip: gossip, clock: clock,
                            settings: configuration.settings,
                            authorizer: Authorizer(tokens: tokens, protectReads: configuration.protectReads),
                            rights: SpendingRightsWait(store: store, gossip: gossip, clock: clock, timeoutMilliseconds: configuration.rightsWaitMilliseconds,
                                                       allowance: (Points(configuration.offlineAllowance),
                                                                   Points(configuration.offlineAllowanceCap ?? 50 * configuration.offlineAllowance),
                                                                   configuration.offlineAllowanceHours))) {
            [NodeMetrics.Family("pointmesh_http_connections_active", "Open HTTP connections.", "gauge", value: Int64(server.activeConnections)),
             NodeMetrics.Family("pointmesh_http_connections_refused_total", "Connections refused at the connection limit.", "counter",
                                value: Int64(server.refusedConnections.load(ordering: .relaxed)))]
        }
        api.forgesOutOfRole = configuration.forgesOutOfRoleForTests
        let router = api.router()
        routerBox.router = router
        routes = router.routes.map { ($0.method, $0.pattern) }
    }

    /// The tokens file's entries; without one, HTTP only on loopback (anyone who reaches the
    /// port could otherwise mint points). With one, HTTP beyond loopback only over HTTPS, or
    /// when `--http-insecure` accepts the tokens crossing the network in clear.
    private static func accessTokens(_ configuration: NodeConfiguration) throws -> AccessTokens? {
        guard let path = configuration.tokensFile else {
            guard configuration.http.isLoopback else { throw NodeError.httpNeedsTokens(configuration.http.description) }
            return nil
        }
        guard configuration.http.isLoopback || configuration.httpInsecure || configuration.httpsFiles != nil else {
            throw NodeError.tokensInClear(configuration.http.description)
        }
        return try AccessTokens.load(path: path)
    }

    /// What gossip proves this node with: the node certificate, the cluster key (as a TLS
    /// pre-shared key), or both. With neither, a key every node knows, so gossip keeps to
    /// loopback: it authenticates nothing, only encrypts.
    /// Also returns the cluster key file's bytes, when there is one.
    private static func gossipCredentials(_ configuration: NodeConfiguration) throws -> (TLSContext, clusterKey: [UInt8]?, note: String) {
        let files = configuration.certificateFiles
        var key: [UInt8]?
        var note: String
        if let path = configuration.clusterKeyFile {
            key = try readClusterKey(path)
            note = files == nil
                ? "gossip over TLS 1.3 authenticated by the cluster key from \(path)"
                : "gossip over TLS 1.3 authenticated by this node's certificate, and by the cluster key from \(path) with peers that have no certificate yet"
        } else if files != nil {
            note = "gossip over TLS 1.3 authenticated by node certificates only"
        } else {
            // Keyless gossip admits any process on the machine: a second node on loopback would
            // write past the tokens this node's HTTP demands.
            if configuration.tokensFile != nil { throw NodeError.tokensNeedClusterKey }
            let outside = ([configuration.gossip] + configuration.seeds).filter { !$0.isLoopback }
            guard outside.isEmpty else {
                throw NodeError.gossipNeedsKey(outside.map(\.description))
            }
            key = ClusterKey.loopbackOnly.bytes
            note = "no --cluster-key-file or --tls-cert: gossip is restricted to loopback (127.0.0.0/8, ::1)"
        }
        do {
            return (try TLSContext(clusterKey: key, files: files), configuration.clusterKeyFile == nil ? nil : key, note)
        } catch {
            throw NodeError.credentials(error)
        }
    }

    /// How the node seals its entries and checks peers' seals (`EntrySeal`): with a node
    /// certificate it seals with the certificate's key and checks seals against the authority.
    /// On certificates alone it takes only entries a seal covers (or that come from their
    /// origin itself), since nothing else vouches for them; with the cluster key too, or
    /// `--accept-unsealed-entries` while key-only nodes remain, the entries of origins that have
    /// shown no certificate are taken on the word of the peer that sends them.
    private static func sealing(_ configuration: NodeConfiguration) throws -> (SealPolicy, (any EntrySealer)?) {
        guard let files = configuration.certificateFiles else { return (.unchecked, nil) }
        do {
            let verifier = AuthoritySealVerifier(authority: try AuthorityVerifier(authorityFile: files.authority))
            let onCertificatesAlone = configuration.clusterKeyFile == nil && !configuration.acceptUnsealedEntries
            return (SealPolicy(verifier: verifier, requirement: onCertificatesAlone ? .everyOrigin : .certifiedOrigins),
                    CertificateSealer(key: try NodeSigningKey(files: files)))
        } catch {
            throw NodeError.credentials(TLSError.credentials("\(error)"))
        }
    }

    /// The cluster key (`clusterKey`, the key file's bytes) peers of a release before 0.8
    /// authenticate with, under `--accept-unencrypted-gossip` (which needs the key).
    private static func unencryptedGossipKey(_ configuration: NodeConfiguration, clusterKey: [UInt8]?) throws -> ClusterKey? {
        guard configuration.acceptUnencryptedGossip else { return nil }
        guard let clusterKey else { throw NodeError.unencryptedGossipNeedsKey }
        return ClusterKey(bytes: clusterKey)
    }

    /// The bytes of the cluster key file at `path`, trailing whitespace removed: at least 16.
    private static func readClusterKey(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError.unreadableKeyFile(path) }
        var bytes = Array(data)
        while let last = bytes.last, last == 10 || last == 13 || last == 32 { bytes.removeLast() }
        guard bytes.count >= 16 else { throw NodeError.weakKey(path, bytes.count) }
        return bytes
    }

    /// Reads the node's certificate files again (SIGHUP): the gossip certificate
    /// (`--tls-cert`) for the next sessions, and the API's (`--http-tls-cert`) for the next
    /// connections. Files that don't load, or a gossip certificate for another node id or role,
    /// are logged and leave the current ones in use; returns whether every reload succeeded.
    @discardableResult
    public func reloadCredentials() -> Bool {
        var succeeded = true
        if configuration.certificateFiles == nil, configuration.httpsFiles == nil {
            log.info("reload: this node has no --tls-cert or --http-tls-cert; nothing to reload")
            return false
        }
        if configuration.certificateFiles != nil {
            do {
                let (tls, _, _) = try Self.gossipCredentials(configuration)
                if let certified = tls.certificate { try Self.checkOwn(certified, nodeID: store.nodeID, role: configuration.role) }
                if let sealer = try Self.sealing(configuration).1 { try store.seal(with: sealer) }
                gossip.replaceCredentials(tls)
                log.info("reloaded the node certificate from \(configuration.certificateFiles?.certificate ?? "")")
                warnIfCertificateExpiresSoon()
            } catch {
                log.error("reload failed, the current certificate stays in use: \(error)")
                succeeded = false
            }
        }
        if let files = configuration.httpsFiles {
            do {
                http.replaceTLS(try TLSContext.httpsServer(certificate: files.certificate, key: files.key))
                log.info("reloaded the HTTPS certificate from \(files.certificate)")
            } catch {
                log.error("HTTPS reload failed, the current certificate stays in use: \(error)")
                succeeded = false
            }
        }
        return succeeded
    }

    /// A node with a certificate is the node it names (when its id is known yet), in the role
    /// it names.
    private static func checkOwn(_ certified: NodeCertificateFacts, nodeID: NodeID?, role: NodeRole) throws {
        if let nodeID, certified.nodeID != nodeID.rawValue { throw NodeError.certificateForAnotherNode(certified.nodeID, nodeID.rawValue) }
        guard certified.role == role.rawValue else { throw NodeError.certificateForAnotherRole(certified.role, role.rawValue) }
    }

    /// Days before its end from which a node certificate is reported as expiring.
    public static let certificateWarningDays: Int64 = 30

    /// Logs when the node's certificate ends, as a warning when that is within
    /// `certificateWarningDays`.
    private func warnIfCertificateExpiresSoon() {
        guard let certified = gossip.certificate else { return }
        let until = RFC3339.format(milliseconds: certified.notAfter * 1_000)
        let daysLeft = (certified.notAfter * 1_000 - configuration.clock.now()) / CivilCalendar.millisecondsPerDay
        if daysLeft < Self.certificateWarningDays {
            log.warning("the node certificate expires \(until) (\(daysLeft) days left): issue a new one (pointmesh tls issue) and send SIGHUP to reload it")
        } else {
            log.info("the node certificate for \(certified.nodeID) (\(certified.role)) is valid until \(until)")
        }
    }

    /// The HTTP address actually bound.
    public var httpAddress: HostPort { http.address }
    /// The gossip address actually bound.
    public var gossipAddress: HostPort { gossip.address }

    /// The contract's ready line.
    public var readyLine: String {
        "pointmesh ready node=\(store.nodeID) http=\(httpAddress) gossip=\(gossipAddress)"
    }

    public func start() {
        http.start()
        gossip.start()
        lateCampaigns.withLock { $0 = LateCampaignSweeper(store: store, clock: configuration.clock, log: log) }
        log.info("node \(store.nodeID) (\(configuration.role.rawValue)) serving http on \(httpAddress), gossip on \(gossipAddress), data in \(configuration.dataDirectory)")
        log.info(keyNote)
        warnIfCertificateExpiresSoon()
        if configuration.forgesOutOfRoleForTests {
            log.warning("POINTMESH_TEST_FORGE_OUT_OF_ROLE: this node writes kinds its role may not originate; for tests only")
        }
        if configuration.gossipSettings.altersRelayedForTests {
            log.warning("POINTMESH_TEST_ALTER_RELAYED: this node alters the other origins' entries it sends; for tests only")
        }
        if configuration.acceptUnsealedEntries {
            log.warning("--accept-unsealed-entries: entries of origins that have shown no certificate are taken on the word of the peer that sends them; remove the option once every node has a certificate")
        }
        if configuration.acceptUnencryptedGossip {
            log.warning("--accept-unencrypted-gossip: peers of a release before 0.8 gossip with this node in clear; remove the option once every node is upgraded")
        }
        if configuration.httpsFiles != nil {
            log.info("serving the API over HTTPS with the certificate \(configuration.httpsFiles?.certificate ?? "")")
        } else if configuration.httpInsecure, !configuration.http.isLoopback {
            log.warning("--http-insecure: bearer tokens cross the network in clear to \(httpAddress); anyone on it can read and reuse them")
        }
        if configuration.seeds.isEmpty {
            log.info("no --seed given: this node is a cluster of one until a peer joins through it")
        } else {
            log.info("joining through \(configuration.seeds.map(\.description).joined(separator: ", "))")
        }
    }

    /// Stops accepting, finishes in-flight requests, commits queued writes and closes the ledger.
    public func stop() {
        log.info("stopping: finishing in-flight requests")
        http.stop()
        gossip.stop()
        lateCampaigns.withLock { $0 }?.stop()
        store.close()
        log.info("stopped cleanly")
    }

    /// A new node's id: `node-` and 12 random hex digits.
    static func generateNodeID() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        let suffix = (0..<12).map { _ in String(Int.random(in: 0..<16, using: &generator), radix: 16) }.joined()
        return NodeID(unchecked: "node-" + suffix)
    }

}

/// Holds the router once it is built, so the HTTP handler created before it can reach it.
private final class RouterBox: @unchecked Sendable {
    // Written once in `PointMeshNode.init`, before the server starts; only read after.
    var router: Router?
}

/// Why a node refuses to start, beyond storage and sockets.
public enum NodeError: Error, CustomStringConvertible {
    case gossipNeedsKey([String])
    case httpNeedsTokens(String)
    case tokensInClear(String)
    case tokensNeedClusterKey
    case unreadableKeyFile(String)
    case weakKey(String, Int)
    case credentials(TLSError)
    case unencryptedGossipNeedsKey
    case certificateForAnotherNode(String, String)
    case certificateForAnotherRole(String, String)

    public var description: String {
        switch self {
        case .httpNeedsTokens(let address):
            "HTTP beyond loopback needs --tokens-file (not loopback: \(address)); without tokens anyone who reaches the port could mint points"
        case .tokensInClear(let address):
            "HTTP beyond loopback would carry bearer tokens in clear (not loopback: \(address)): serve HTTPS with --http-tls-cert and --http-tls-key, or pass --http-insecure to accept that on a network you trust"
        case .tokensNeedClusterKey:
            "--tokens-file needs --cluster-key-file or --tls-cert too: without either any process on this machine could gossip writes past the tokens"
        case .gossipNeedsKey(let addresses):
            "gossip beyond loopback needs --cluster-key-file or --tls-cert (not loopback: \(addresses.joined(separator: ", ")))"
        case .unreadableKeyFile(let path):
            "cannot read cluster key file \(path)"
        case .credentials(let error):
            "\(error)"
        case .unencryptedGossipNeedsKey:
            "--accept-unencrypted-gossip needs --cluster-key-file: nodes of a release before 0.8 authenticate with the cluster key"
        case .certificateForAnotherNode(let named, let node):
            "the certificate in --tls-cert is for node \(named), and this node is \(node): issue one for \(node) (pointmesh tls issue --node-id \(node))"
        case .certificateForAnotherRole(let named, let role):
            "the certificate in --tls-cert is for a node of role \(named), and this node runs as --role \(role)"
        case .weakKey(let path, let length):
            "cluster key in \(path) is \(length) bytes; use at least 16 random bytes"
        }
    }
}
