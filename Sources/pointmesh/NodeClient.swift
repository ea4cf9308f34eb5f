import Foundation
import PointMeshHTTP

/// What every client command shares: `--node URL`, `--json`, and printing a node's answer.
struct NodeClient {
    static let valued: Set<String> = ["node"]
    static let switches: Set<String> = ["json"]
    static let optionsHelp = """
          --node URL   the node's HTTP API (default http://127.0.0.1:8080)
          --json       print the node's JSON answer instead of a sentence
        """

    let client: HTTPClient
    let json: Bool

    init(_ arguments: CommandLineArguments) throws(UsageError) {
        let url = arguments.value("node") ?? "http://127.0.0.1:8080"
        var rest = Substring(url)
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard !url.hasPrefix("https://"), let address = HostPort(parsing: String(rest)) else {
            throw UsageError(message: "--node must be http://HOST:PORT, got '\(url)'")
        }
        client = HTTPClient(address: address)
        json = arguments.has("json")
    }

    /// Sends the request and prints the answer: JSON as it came with `--json`, otherwise
    /// `human` of the decoded object. Errors go to standard error; the exit status is 1.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil, human: ([String: Any]) -> String) throws -> Int32 {
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])) }
        let response: HTTPClientResponse
        do {
            response = try client.send(method, path, body: bytes)
        } catch {
            FileHandle.standardError.write(Data("pointmesh: cannot reach node at \(client.address): \(error)\n".utf8))
            return 1
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        if response.status >= 400 {
            let error = object["error"] as? [String: Any]
            let code = error?["code"] as? String ?? "http_\(response.status)"
            let message = error?["message"] as? String ?? response.bodyText
            if json { print(response.bodyText) }
            FileHandle.standardError.write(Data("pointmesh: \(code): \(message)\n".utf8))
            return 1
        }
        print(json ? response.bodyText : human(object))
        return 0
    }
}

/// A fresh id for a write whose caller gave none; printed so the write can be retried.
func generatedRequestID() -> String {
    "req-" + UUID().uuidString.lowercased()
}
