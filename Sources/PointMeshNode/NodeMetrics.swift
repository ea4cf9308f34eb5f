import Synchronization

/// Counters the node exposes at `GET /metrics` in the Prometheus text format.
final class NodeMetrics: Sendable {
    private let responses = Mutex<[Int: Int]>([:])
    private let writes = Mutex<[String: Int]>([:])

    func recordResponse(status: Int) {
        responses.withLock { $0[status, default: 0] += 1 }
    }

    /// `outcome` is `created`, `replayed` or `refused`.
    func recordWrite(kind: String, outcome: String) {
        writes.withLock { $0["kind=\"\(kind)\",outcome=\"\(outcome)\"", default: 0] += 1 }
    }

    /// The exposition text, with the gauges the caller reads at scrape time.
    func exposition(gauges: [(name: String, help: String, type: String, value: Int64)]) -> String {
        var text = ""
        for gauge in gauges {
            text += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) \(gauge.type)\n\(gauge.name) \(gauge.value)\n"
        }
        text += "# HELP pointmesh_http_responses_total HTTP responses by status code.\n# TYPE pointmesh_http_responses_total counter\n"
        for (status, count) in responses.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            text += "pointmesh_http_responses_total{status=\"\(status)\"} \(count)\n"
        }
        text += "# HELP pointmesh_writes_total Write requests by kind and outcome.\n# TYPE pointmesh_writes_total counter\n"
        for (labels, count) in writes.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            text += "pointmesh_writes_total{\(labels)} \(count)\n"
        }
        return text
    }
}
