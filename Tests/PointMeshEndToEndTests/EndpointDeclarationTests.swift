import Foundation
import PointMeshCore
import PointMeshHTTP
@testable import PointMeshNode
import Testing

/// A route exists only as an `Endpoint`, whose `access` has no default (one without it does not
/// compile): the router serves exactly the declared endpoints, each behind its own access, and
/// no route is open unless declared so. (Access once fell back to open for a route missing
/// from a separate table.)
@Suite struct EndpointDeclarationTests {
    @Test func theRouterServesExactlyTheDeclaredEndpoints() throws {
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try PointMeshNode.startedOnLoopback(dataDirectory: directory)
        defer { node.stop() }
        let served = node.routes.map { "\($0.method) \($0.pattern)" }
        let declared = LedgerAPI.endpoints.map { "\($0.method) \($0.path)" }
        #expect(served == declared)
        #expect(Set(declared).count == declared.count, "a route declared twice would be shadowed by the first")
        // Nothing else answers, whatever the token: an undeclared route is not found, not open.
        let client = HTTPClient(address: node.httpAddress)
        #expect(try client.send("GET", "/v1/not-declared").status == 404)
        let post = try client.send("POST", "/v1/status", body: Array("{}".utf8))
        #expect(post.status == 405 && post.bodyText.contains("method_not_allowed"))
    }

    @Test func onlyStatusMetricsTheDescriptionAndTheDashboardPageAreOpen() {
        let open = LedgerAPI.endpoints.filter { $0.access == .open }.map(\.path)
        #expect(open == ["/v1/status", "/metrics", "/openapi.json"])
        let pages = LedgerAPI.endpoints.filter { $0.access == .page }.map(\.path)
        #expect(pages == ["/"], "the dashboard page holds no data: it asks the API with a token")
        for endpoint in LedgerAPI.endpoints where endpoint.access != .open && endpoint.access != .page {
            guard case .roles(let roles) = endpoint.access else { continue }
            #expect(!roles.isEmpty, "\(endpoint.method) \(endpoint.path) admits no role: declare who may call it")
        }
    }

    /// The description says for each route what the router enforces.
    @Test func theDescriptionDeclaresEachEndpointsRoles() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(APIDescription.json.utf8)) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        for endpoint in LedgerAPI.endpoints {
            let operation = paths[endpoint.path]?[endpoint.method.lowercased()] as? [String: Any]
            #expect(operation?["x-roles"] as? [String] == endpoint.access.allowed.map(\.rawValue), "\(endpoint.method) \(endpoint.path)")
        }
        #expect(paths.values.map(\.count).reduce(0, +) == LedgerAPI.endpoints.count, "the description has an operation for no endpoint")
    }
}
