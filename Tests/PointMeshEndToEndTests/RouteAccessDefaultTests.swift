import PointMeshCore
@testable import PointMeshNode
import Testing

/// A route nobody declared access for is refused to every token, never open (it once fell back
/// to open access): open routes are listed like the others.
@Suite struct RouteAccessDefaultTests {
    @Test func anUndeclaredRouteFailsClosed() {
        #expect(APIAccess.of(method: "GET", path: "/v1/not-declared") == .nobody)
        #expect(APIAccess.of(method: "POST", path: "/v1/status") == .nobody)
        #expect(Access.nobody.allowed.isEmpty)
        for path in ["/v1/status", "/metrics", "/openapi.json"] { #expect(APIAccess.of(method: "GET", path: path) == .open, "\(path)") }
    }
}
