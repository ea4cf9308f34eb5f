import Foundation
import PointMeshCommandLine
import PointMeshJSON
import PointMeshHTTP
import PointMeshTLS

/// What every client command shares: `--node URL`, `--json`, `--timeout`, printing a node's
/// answer, and the exit statuses of `ExitStatus`.
struct NodeClient {
    static let node = Option("node", .value("URL"), "the node's HTTP API, http:// or https:// (default: $POINTMESH_NODE, else http://127.0.0.1:8080)")
    static let authority = Option("ca", .value("FILE"), "for an https:// node: the certificates (PEM) its certificate must verify against (default: the system's)")
    static let timeout = Option("timeout", .value("S"),
                                "seconds to wait for the node's answer (default 5; for `report`, 600: a liability at a past --as-of folds the whole history)")
    static let token = Option("token", .value("T"), "bearer token for a node with --tokens-file (default: $POINTMESH_TOKEN)")
    static let jsonOutput = Option("json", "print the node's JSON answer instead of a sentence")
    /// The options every client command takes, after its own.
    static let options = [node, authority, timeout, token, jsonOutput]
    static let defaultTimeoutSeconds = 5.0
    /// The closing paragraph of every client command's description.
    static let exitStatuses = """
        Exit status: 0 done, 1 refused by the node, 2 usage error, 3 node unreachable or not a
        PointMesh node.
        """

    let client: HTTPClient
    let json: Bool
    /// `Authorization: Bearer …` when a token was given.
    let headers: [(name: String, value: String)]

    /// - Parameter defaultTimeout: seconds to wait without `--timeout`.
    init(_ arguments: CommandLineArguments, defaultTimeout: Double = defaultTimeoutSeconds) throws(UsageError) {
        let url = arguments.value(Self.node) ?? ProcessInfo.processInfo.environment["POINTMESH_NODE"] ?? "http://127.0.0.1:8080"
        var rest = Substring(url)
        let secure = rest.hasPrefix("https://")
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        if secure { rest = rest.dropFirst(8) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let address = HostPort(parsing: String(rest)) else {
            throw UsageError(message: "--node (or POINTMESH_NODE) must be http://HOST:PORT or https://HOST:PORT, got '\(url)'")
        }
        var tls: TLSContext?
        if secure {
            do {
                tls = try TLSContext.httpsClient(authority: arguments.value(Self.authority))
            } catch {
                throw UsageError(message: "--ca: \(error)")
            }
        } else if arguments.value(Self.authority) != nil {
            throw UsageError(message: "--ca is for an https:// node; --node is \(url)")
        }
        var timeout = defaultTimeout
        if let text = arguments.value(Self.timeout) {
            guard let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                throw UsageError(message: "--timeout must be a number of seconds above 0 and at most 3600, got '\(text)'")
            }
            timeout = seconds
        }
        client = HTTPClient(address: address, timeoutMilliseconds: Int32(timeout * 1000), tls: tls)
        json = arguments.has(Self.jsonOutput)
        let token = arguments.value(Self.token) ?? ProcessInfo.processInfo.environment["POINTMESH_TOKEN"]
        headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
    }

    /// A node's answer: its status and JSON object.
    struct Answer {
        var status: Int
        var object: [String: JSONValue]
        var text: String
    }

    /// Why a call did not produce a PointMesh answer; each maps to an exit status.
    enum Failure: Error {
        case unreachable(String)
        case notPointMesh(String)
        case refused(code: String, message: String, body: String)

        var exitStatus: Int32 {
            switch self {
            case .unreachable, .notPointMesh: ExitStatus.unreachable
            case .refused: ExitStatus.refused
            }
        }
    }

    /// Sends one request and returns the node's JSON answer, or why there is none.
    func send(_ method: String, _ path: String, body: [String: JSONValue]? = nil) throws -> Answer {
        let bytes = body.map { JSONValue.object($0).bytes() }
        let response: HTTPClientResponse
        do {
            response = try client.send(method, path, body: bytes, headers: headers)
        } catch HTTPClientError.timedOut {
            throw Failure.unreachable("\(client.address) did not answer within \(Double(client.timeoutMilliseconds) / 1000) s (a node still working on a long read needs a longer --timeout)")
        } catch {
            throw Failure.unreachable("cannot reach a node at \(client.address) within \(Double(client.timeoutMilliseconds) / 1000) s: \(error)")
        }
        let contentType = response.headers.first { $0.name.lowercased() == "content-type" }?.value ?? "no content type"
        guard let object = (try? JSONParser.parse(response.body))?.objectValue else {
            throw Failure.notPointMesh(
                "\(client.address) answered HTTP \(response.status) with \(response.body.count) bytes of \(contentType), "
                + "not a PointMesh response; is --node the node's HTTP address?")
        }
        if response.status >= 400 {
            guard let error = object["error"]?.objectValue, let code = error["code"]?.stringValue else {
                throw Failure.notPointMesh("\(client.address) answered HTTP \(response.status) without a PointMesh error body; is --node right?")
            }
            throw Failure.refused(code: code, message: error["message"]?.stringValue ?? "", body: response.bodyText)
        }
        return Answer(status: response.status, object: object, text: response.bodyText)
    }

    /// Sends the request and prints the answer: JSON as it came with `--json`, otherwise
    /// `human` of it. Failures go to standard error; returns the exit status.
    func call(_ method: String, _ path: String, body: [String: JSONValue]? = nil, human: (Answer) throws -> String) throws -> Int32 {
        do {
            let answer = try send(method, path, body: body)
            print(json ? answer.text : try human(answer))
            return ExitStatus.success
        } catch let failure as Failure {
            return report(failure)
        }
    }

    /// Prints why a call failed (the node's error body too with `--json`); returns the exit status.
    func report(_ failure: Failure) -> Int32 {
        switch failure {
        case .unreachable(let message), .notPointMesh(let message):
            FileHandle.standardError.write(Data("pointmesh: \(message)\n".utf8))
        case .refused(let code, let message, let body):
            if json { print(body) }
            FileHandle.standardError.write(Data("pointmesh: \(code): \(message)\n".utf8))
        }
        return failure.exitStatus
    }

    /// The account's balance now, for sentences about a replayed write (whose answer carries
    /// the balance as it was then).
    func currentBalance(_ account: String) throws -> Int64 {
        try send("GET", "/v1/accounts/\(account.urlPathEscaped)").object["balance"]?.integerValue ?? 0
    }
}

/// A fresh id for a write whose caller gave none; printed so the write can be retried.
func generatedRequestID() -> String {
    "req-" + UUID().uuidString.lowercased()
}

extension NodeClient.Answer {
    /// True when the node had made this write before and did nothing new now.
    var replayed: Bool { object["replayed"]?.boolValue ?? (status == 200) }

    func int(_ key: String) -> Int64 { object[key]?.integerValue ?? 0 }
    func string(_ key: String) -> String { object[key]?.stringValue ?? "?" }

    /// "already recorded at T as entry E" for a replayed write.
    var replayNote: String {
        "already recorded at \(string("created_at")) as entry \(string("entry_id"))"
    }
}
