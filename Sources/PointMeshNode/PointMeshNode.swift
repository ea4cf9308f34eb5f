import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import Synchronization

/// One running node: the ledger store, its HTTP API and its gossip listener, wired together.
/// The shell around the pure core; it owns every socket, file and clock.
public final class PointMeshNode: Sendable {
    public let configuration: NodeConfiguration
    public let store: LedgerStore
    private let http: HTTPServer
    private let gossipListener: TCPListener
    private let log: Logger
    /// Every method and path pattern the HTTP API answers (the OpenAPI test checks each).
    public let routes: [(method: String, pattern: String)]

    /// Opens the data directory and binds both ports; call `start()` to begin serving.
    public init(configuration: NodeConfiguration, log: Logger) throws {
        self.configuration = configuration
        self.log = log
        store = try LedgerStore(
            directory: configuration.dataDirectory, nodeID: configuration.nodeID,
            newNodeID: Self.generateNodeID, now: Self.wallClockMilliseconds)
        let metrics = NodeMetrics()
        var httpConfiguration = HTTPServerConfiguration(address: configuration.http)
        httpConfiguration.timeouts = configuration.httpTimeouts
        httpConfiguration.maximumConnections = configuration.maximumConnections
        // The HTTP server is created before the API so the API's gauges can read it; the
        // handler reaches the router through this box, filled in just below.
        let routerBox = RouterBox()
        http = try HTTPServer(configuration: httpConfiguration, log: { log.warning($0) }) { request in
            let response = routerBox.router?.handle(request)
                ?? .error(503, code: "starting", message: "the node is starting")
            metrics.recordResponse(status: response.status)
            return response
        }
        let server = http
        let api = LedgerAPI(store: store, role: configuration.role, metrics: metrics, log: log) {
            [("pointmesh_http_connections_active", "Open HTTP connections.", "gauge", Int64(server.activeConnections)),
             ("pointmesh_http_connections_refused_total", "Connections refused at the connection limit.", "counter",
              Int64(server.refusedConnections.load(ordering: .relaxed)))]
        }
        let router = api.router()
        routerBox.router = router
        routes = router.routes.map { ($0.method, $0.pattern) }
        // Gossip arrives with replication; the port is bound now so the address is real and reserved.
        gossipListener = try TCPListener(binding: configuration.gossip)
    }

    /// The HTTP address actually bound.
    public var httpAddress: HostPort { http.address }
    /// The gossip address actually bound.
    public var gossipAddress: HostPort { gossipListener.address }

    /// The contract's ready line.
    public var readyLine: String {
        "pointmesh ready node=\(store.nodeID) http=\(httpAddress) gossip=\(gossipAddress)"
    }

    public func start() {
        http.start()
        log.info("node \(store.nodeID) (\(configuration.role.rawValue)) serving http on \(httpAddress), data in \(configuration.dataDirectory)")
        if configuration.seeds.isEmpty {
            log.info("no --seed given: this node is a cluster of one")
        }
    }

    /// Stops accepting, finishes in-flight requests, commits queued writes and closes the ledger.
    public func stop() {
        log.info("stopping: finishing in-flight requests")
        http.stop()
        gossipListener.close()
        store.close()
        log.info("stopped cleanly")
    }

    /// A new node's id: `node-` and 12 random hex digits.
    static func generateNodeID() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        let suffix = (0..<12).map { _ in String(Int.random(in: 0..<16, using: &generator), radix: 16) }.joined()
        return NodeID(unchecked: "node-" + suffix)
    }

    static let wallClockMilliseconds: @Sendable () -> Int64 = {
        Int64(Date().timeIntervalSince1970 * 1000)
    }
}

/// Holds the router once it is built, so the HTTP handler created before it can reach it.
private final class RouterBox: @unchecked Sendable {
    // Written once in `PointMeshNode.init`, before the server starts; only read after.
    var router: Router?
}
