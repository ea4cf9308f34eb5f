import PointMeshCore
import Synchronization

/// Counters the node exposes at `GET /metrics` in the Prometheus text format. Recording is on
/// every request's path, so it only bumps a slot in a fixed array under a lock (no allocation,
/// no string building); text is built at scrape time.
final class NodeMetrics: Sendable {
    /// What happened to a write request.
    enum WriteOutcome: String, CaseIterable {
        case created, replayed, refused
    }

    /// Status codes are counted individually below 600; anything else lands in the last slot.
    private static let statusSlots = 600
    private let responses = Mutex([Int](repeating: 0, count: statusSlots))
    private let writes = Mutex([Int](repeating: 0, count: IdempotencyKey.Scope.allCases.count * WriteOutcome.allCases.count))

    func recordResponse(status: Int) {
        let slot = min(max(status, 0), Self.statusSlots - 1)
        responses.withLock { $0[slot] += 1 }
    }

    func recordWrite(_ scope: IdempotencyKey.Scope, _ outcome: WriteOutcome) {
        let slot = slot(scope, outcome)
        writes.withLock { $0[slot] += 1 }
    }

    private func slot(_ scope: IdempotencyKey.Scope, _ outcome: WriteOutcome) -> Int {
        let scopeIndex = IdempotencyKey.Scope.allCases.firstIndex(of: scope) ?? 0
        let outcomeIndex = WriteOutcome.allCases.firstIndex(of: outcome) ?? 0
        return scopeIndex * WriteOutcome.allCases.count + outcomeIndex
    }

    /// The exposition text, with the gauges the caller reads at scrape time.
    func exposition(gauges: [(name: String, help: String, type: String, value: Int64)]) -> String {
        var text = ""
        for gauge in gauges {
            text += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) \(gauge.type)\n\(gauge.name) \(gauge.value)\n"
        }
        text += "# HELP pointmesh_http_responses_total HTTP responses by status code.\n# TYPE pointmesh_http_responses_total counter\n"
        let responseCounts = responses.withLock { $0 }
        for (status, count) in responseCounts.enumerated() {
            if count > 0 { text += "pointmesh_http_responses_total{status=\"\(status)\"} \(count)\n" }
        }
        text += "# HELP pointmesh_writes_total Write requests by kind and outcome.\n# TYPE pointmesh_writes_total counter\n"
        let writeCounts = writes.withLock { $0 }
        for scope in IdempotencyKey.Scope.allCases {
            for outcome in WriteOutcome.allCases {
                let count = writeCounts[slot(scope, outcome)]
                text += "pointmesh_writes_total{kind=\"\(scope.rawValue)\",outcome=\"\(outcome.rawValue)\"} \(count)\n"
            }
        }
        return text
    }
}
