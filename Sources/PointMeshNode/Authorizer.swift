import Foundation
import PointMeshCore
import PointMeshHTTP

/// The check of a request's token against a route's access (`Endpoint.access`), and the
/// caller it yields.
struct Authorizer: Sendable {
    /// Nil: the node runs without tokens (only on loopback) and lets every request through.
    let tokens: AccessTokens?
    /// Whether open routes (status, metrics, the API description) need a token too.
    let protectReads: Bool

    /// The role of the request's token; nil without tokens (every request is let through) or
    /// without a token the node knows.
    func role(of request: HTTPRequest) -> Role? {
        guard let tokens, let presented = Self.bearer(request.header("Authorization")) else { return nil }
        return tokens.authenticate(presented)?.role
    }

    /// The caller's token name ("" without tokens or on an open route without one), or the
    /// refusal: 401 without a token the node knows, 403 for a role the route doesn't allow.
    func caller(of request: HTTPRequest, for access: Access) -> Result<String, APIError> {
        guard let tokens else { return .success("") }
        // Two credentials are ambiguous: which one a proxy or the node reads must not decide who calls.
        guard request.headers.filter({ $0.name.lowercased() == "authorization" }).count <= 1 else {
            return .failure(APIError(status: 400, code: "invalid_header", message: "send one Authorization header, not several"))
        }
        let presented = Self.bearer(request.header("Authorization"))
        if case .open = access, !protectReads, presented == nil { return .success("") }
        // A page is served without a token even when reads are protected; one sent must be good.
        if case .page = access, presented == nil { return .success("") }
        guard let presented, let entry = tokens.authenticate(presented) else {
            return .failure(APIError(status: 401, code: "unauthenticated",
                                     message: presented == nil ? "send Authorization: Bearer <token>" : "the token is not one this node accepts"))
        }
        if case .roles(let roles) = access, !roles.contains(entry.role) {
            return .failure(APIError(status: 403, code: "forbidden",
                                     message: "token '\(entry.name)' has role \(entry.role.rawValue); this needs \(access.allowed.map(\.rawValue).joined(separator: " or "))"))
        }
        return .success(entry.name)
    }

    private static func bearer(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
