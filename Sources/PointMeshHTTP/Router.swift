import Dispatch

/// Maps method and path to a handler. Patterns are literal segments and `{name}` parameters:
/// `/v1/accounts/{account_id}/entries`.
public struct Router: Sendable {
    /// A handler that computes its response directly; it may block (a database read), so it
    /// runs on Dispatch's global queue, never on the server's event loop.
    public typealias Handler = @Sendable (HTTPRequest, _ parameters: [String: String]) -> HTTPResponse
    /// A handler that answers later through the responder; it runs on the event loop and must
    /// not block (it hands slow work elsewhere, e.g. to the group-commit writer).
    public typealias AsyncHandler = @Sendable (HTTPRequest, _ parameters: [String: String], _ respond: @escaping HTTPServer.Responder) -> Void

    /// One registered route; the list is public so tests can check it against the API spec.
    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        let segments: [Substring]
        let handler: AsyncHandler
    }

    public private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        addAsync(method, pattern) { request, parameters, respond in
            DispatchQueue.global().async { respond(handler(request, parameters)) }
        }
    }

    public mutating func addAsync(_ method: String, _ pattern: String, _ handler: @escaping AsyncHandler) {
        routes.append(Route(method: method, pattern: pattern, segments: pattern.split(separator: "/"), handler: handler))
    }

    /// Answers `request` with the matching route, or 404 / 405 in the contract's error body.
    public func handle(_ request: HTTPRequest, respond: @escaping HTTPServer.Responder) {
        // "/" is the root's pattern (no segments), not one empty segment.
        let segments = request.path == "/" ? [] : Array(request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
        var allowed: [String] = []
        for route in routes {
            guard let parameters = match(route.segments, segments) else { continue }
            if route.method == request.method { return route.handler(request, parameters, respond) }
            allowed.append(route.method)
        }
        if !allowed.isEmpty {
            var response = HTTPResponse.error(405, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.path); it answers \(allowed.joined(separator: ", "))")
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            return respond(response)
        }
        respond(.error(404, code: "not_found", message: "no such endpoint: \(request.path)"))
    }

    private func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected.hasPrefix("{"), expected.hasSuffix("}") {
                parameters[String(expected.dropFirst().dropLast())] = String(actual).removingPercentEncodingSafely
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}
