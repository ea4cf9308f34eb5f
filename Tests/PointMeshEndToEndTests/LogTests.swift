import Foundation
import PointMeshHTTP
import Testing

@Suite struct LogTests {
    /// Every line on standard error is one JSON object with time, level and message; at debug
    /// level each HTTP request has its line with method, path, status and duration; every line
    /// names the node.
    @Test func logLinesAreJSONObjects() throws {
        let node = try NodeProcess(extraArguments: ["--node-id", "logger-1", "--log-level", "debug"])
        defer { node.stop(); node.removeFiles() }
        #expect(try node.client().postJSON("/v1/purchases", #"{"receipt_id":"L1","account_id":"lea","amount_fen":100}"#).status == 201)
        #expect(try node.client().send("GET", "/v1/accounts/lea").status == 200)
        node.stop()
        let lines = node.log.split(separator: "\n")
        #expect(!lines.isEmpty)
        var requests: [[String: Any]] = []
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            guard let object else { continue }
            #expect(object["time"] is String && object["level"] is String && object["message"] is String, "\(line)")
            if object["message"] as? String == "request" { requests.append(object) }
            if object["message"] as? String != nil, (object["message"] as? String)?.hasPrefix("opening") != true {
                #expect(object["node"] as? String == "logger-1" || (object["message"] as? String ?? "").contains("upgrad"), "\(line)")
            }
        }
        #expect(requests.contains { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/purchases" && $0["status"] as? String == "201" && $0["duration_ms"] is String },
                "\(requests)")
    }

    /// `--log-format text` keeps the human format, and info hides the per-request lines.
    @Test func textFormatForATerminal() throws {
        let node = try NodeProcess(extraArguments: ["--log-format", "text"])
        defer { node.stop(); node.removeFiles() }
        #expect(try node.client().send("GET", "/v1/status").status == 200)
        node.stop()
        let lines = node.log.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.first != "{" && $0.split(separator: " ").count >= 3 }, "\(lines)")
        #expect(!lines.contains { $0.contains(" request ") })
        let bad = try runPointmesh(["serve", "--log-format", "xml"])
        #expect(bad.status == 2 && bad.stderr.contains("--log-format must be json or text"))
    }
}
