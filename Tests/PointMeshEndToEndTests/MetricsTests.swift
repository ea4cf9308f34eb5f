import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshNode
import Testing

/// A strict reader of the Prometheus text exposition format (0.0.4): every sample belongs to a
/// family declared by `# TYPE` before it, names and labels are well formed, values are numbers,
/// and a histogram's buckets are cumulative with `+Inf` equal to its count.
struct PrometheusText {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Sample values by `name{labels}` exactly as written (labels in written order).
    private(set) var samples: [String: Double] = [:]
    private(set) var types: [String: String] = [:]

    init(_ text: String) throws {
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        let sample = try Regex(#"^(\#(name))(\{((\#(name))="([^"\\]|\\.)*"(,(\#(name))="([^"\\]|\\.)*")*)?\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$"#)
        var buckets: [String: [(bound: Double, count: Double)]] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw ParseError(description: "bad TYPE line: \(line)")
                }
                guard types[String(parts[2])] == nil else { throw ParseError(description: "family declared twice: \(line)") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            guard line.first != "#", let match = try sample.wholeMatch(in: String(line)) else { throw ParseError(description: "bad sample: \(line)") }
            let metric = String(match.output[1].substring ?? "")
            let family = types[metric] != nil ? metric
                : ["_bucket", "_sum", "_count"].compactMap { suffix in metric.hasSuffix(suffix) ? String(metric.dropLast(suffix.count)) : nil }
                    .first { types[$0] == "histogram" }
            guard let family else { throw ParseError(description: "sample before its TYPE: \(line)") }
            let valueText = String(line.split(separator: " ").last ?? "")
            guard let value = valueText == "+Inf" ? Double.infinity : Double(valueText) else { throw ParseError(description: "bad value: \(line)") }
            let key = String(line.dropLast(valueText.count + 1))
            guard samples[key] == nil else { throw ParseError(description: "duplicate sample: \(line)") }
            samples[key] = value
            if metric == family + "_bucket", let le = key.range(of: #"le=""#) {
                let bound = key[le.upperBound...].prefix { $0 != "\"" }
                let series = key.replacingOccurrences(of: #",?le="[^"]*""#, with: "", options: .regularExpression)
                buckets[series, default: []].append((bound == "+Inf" ? .infinity : Double(bound) ?? .nan, value))
            }
        }
        for (series, list) in buckets {
            guard zip(list, list.dropFirst()).allSatisfy({ $0.bound < $1.bound && $0.count <= $1.count }), list.last?.bound == .infinity else {
                throw ParseError(description: "histogram \(series) is not cumulative or lacks +Inf")
            }
            let count = series.replacingOccurrences(of: "_bucket", with: "_count").replacingOccurrences(of: "{}", with: "")
            guard samples[count] == list.last?.count else { throw ParseError(description: "\(series): +Inf bucket differs from \(count)") }
        }
    }

    func value(_ key: String) -> Double { samples[key] ?? 0 }
}

@Suite struct MetricsTests {
    /// `/metrics` parses as Prometheus text, declares every family the operations guide lists,
    /// and its counters move with the requests that should move them.
    @Test func metricsParseAndMove() throws {
        let names: [String: Role] = ["till-1": .clerk, "hq-1": .hq]
        var tokens: [Role: String] = [:], entries: [String] = []
        for (name, role) in names {
            let (token, hash) = AccessTokens.newToken()
            tokens[role] = token
            entries.append(#"{"name":"\#(name)","role":"\#(role.rawValue)","token_sha256":"\#(hash)"}"#)
        }
        let file = NSTemporaryDirectory() + "pointmesh-metrics-tokens-\(UUID().uuidString).json"
        try ("[" + entries.joined(separator: ",") + "]").write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let key = file + ".key"
        FileManager.default.createFile(atPath: key, contents: Data("0123456789abcdef0123456789abcdef".utf8), attributes: [.posixPermissions: 0o600])
        defer { for path in [file, key] { try? FileManager.default.removeItem(atPath: path) } }
        let node = try NodeProcess(extraArguments: ["--tokens-file", file, "--cluster-key-file", key])
        defer { node.stop(); node.removeFiles() }
        func scrape() throws -> PrometheusText {
            let response = try node.client().send("GET", "/metrics")
            #expect(response.headers.contains { $0.name.lowercased() == "content-type" && $0.value.hasPrefix("text/plain; version=0.0.4") })
            return try PrometheusText(response.bodyText)
        }
        func buy(_ receipt: String, token: String?) throws -> Int {
            try node.client().send("POST", "/v1/purchases", body: Array(#"{"receipt_id":"\#(receipt)","account_id":"max","amount_fen":500}"#.utf8),
                                   headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []).status
        }
        let before = try scrape()
        #expect(try buy("M1", token: tokens[.clerk]) == 201)
        #expect(try buy("M2", token: nil) == 401)
        #expect(try buy("M3", token: tokens[.hq]) == 403)
        let after = try scrape()

        for family in ["pointmesh_http_requests_total", "pointmesh_http_request_duration_seconds", "pointmesh_write_queue_depth",
                       "pointmesh_commit_batch_size", "pointmesh_commit_duration_seconds", "pointmesh_entries_committed_total",
                       "pointmesh_gossip_sessions_total", "pointmesh_gossip_bytes_sent_total", "pointmesh_gossip_bytes_received_total",
                       "pointmesh_peers", "pointmesh_peer_lag_entries", "pointmesh_peer_seconds_since_contact", "pointmesh_http_refusals_total",
                       "pointmesh_gossip_refusals_total", "pointmesh_writes_total", "pointmesh_ledger_entries"] {
            #expect(after.types[family] != nil, "\(family) is not exposed")
        }
        let route = #"route="POST /v1/purchases""#
        #expect(after.value(#"pointmesh_http_requests_total{\#(route),status="201"}"#) - before.value(#"pointmesh_http_requests_total{\#(route),status="201"}"#) == 1)
        #expect(after.value(#"pointmesh_http_requests_total{\#(route),status="401"}"#) == 1)
        #expect(after.value(#"pointmesh_http_requests_total{\#(route),status="403"}"#) == 1)
        #expect(after.value(#"pointmesh_http_request_duration_seconds_count{\#(route)}"#) == 3)
        #expect(after.value(#"pointmesh_http_refusals_total{reason="authentication"}"#) == 1)
        #expect(after.value(#"pointmesh_http_refusals_total{reason="authorization"}"#) == 1)
        #expect(after.value(#"pointmesh_entries_committed_total{kind="earn"}"#) - before.value(#"pointmesh_entries_committed_total{kind="earn"}"#) == 1)
        #expect(after.value("pointmesh_commit_batch_size_count") > before.value("pointmesh_commit_batch_size_count"))
        #expect(after.value("pointmesh_commit_duration_seconds_count") > before.value("pointmesh_commit_duration_seconds_count"))
        #expect(after.value(#"pointmesh_writes_total{kind="earn",outcome="created"}"#) == 1)
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("pointmesh_x 1\n") }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("# TYPE a counter\na{b=c} 1\n") }
    }

    /// The node's long-lived threads carry their names to the OS, where `top -H` and
    /// `pointmesh bench` (the writer's CPU time) find them, as soon as the node is ready
    /// (`NamedThread`: each thread names itself before its start returns).
    @Test func theNodesThreadsAreNamedForTheOS() throws {
        for _ in 0..<3 {
            let node = try NodeProcess()
            defer { node.stop(); node.removeFiles() }
            let tasks = "/proc/\(node.pid)/task"
            let names = try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap {
                try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            for name in ["pm-writer", "pm-http-loop", "pm-checkpoint", "pm-gossip-accpt", "pm-gossip-tick"] {
                #expect(names.contains(name), "\(name) not among \(names.sorted())")
            }
        }
    }
}
