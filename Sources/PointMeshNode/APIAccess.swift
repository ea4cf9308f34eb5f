import Foundation
import PointMeshCore
import PointMeshHTTP

/// Who may call each route: the kinds' writes say it themselves (`EntryKindRule.access`); the
/// rest are listed here. `LedgerAPI` enforces it and `APIDescription` documents it from the same
/// table, so the two can't disagree. A route missing from the table is refused to every token
/// (`Access.nobody`), never open: open routes are listed like the others.
enum APIAccess {
    static func of(method: String, path: String) -> Access {
        if let kind = EntryKinds.routed.first(where: { $0.method == method && $0.route == path }) { return kind.access }
        switch (method, path) {
        case ("GET", "/v1/accounts/{account_id}"), ("GET", "/v1/accounts/{account_id}/entries"), ("GET", "/v1/families/{family_id}"): return .lookup
        case ("GET", "/v1/policies/expiry"), ("GET", "/v1/reminders"), ("GET", "/v1/lots"), ("GET", "/v1/budgets/{month}"), ("GET", "/v1/clashes"):
            return .headquarters
        case ("GET", "/v1/campaigns"), ("GET", "/v1/rewards"): return .lookup
        case ("POST", "/v1/cluster/retirements"): return .administration
        case ("GET", "/v1/status"), ("GET", "/metrics"), ("GET", "/openapi.json"): return .open
        default: return .nobody
        }
    }
}

/// The check of a request's token against a route's access, and the caller it yields.
struct Authorizer: Sendable {
    /// Nil: the node runs without tokens (only on loopback) and lets every request through.
    let tokens: AccessTokens?
    /// Whether open routes (status, metrics, the API description) need a token too.
    let protectReads: Bool

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
