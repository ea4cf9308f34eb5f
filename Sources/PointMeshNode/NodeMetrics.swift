import PointMeshCore
import Synchronization

/// Counters the node exposes at `GET /metrics` in the Prometheus text format. Recording is on
/// every request's path, so it only bumps an atomic (no lock, no allocation, no string
/// building); text is built at scrape time.
final class NodeMetrics: Sendable {
    /// What happened to a write request.
    enum WriteOutcome: String, CaseIterable {
        case created, replayed, refused
    }

    /// Status codes are counted individually below 600; anything else lands in the last slot.
    private static let statusSlots = 600
    /// One atomic counter; `Atomic` can't be copied into an array, a reference to it can.
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private let responses = (0..<statusSlots).map { _ in Counter() }
    private let writes = (0..<(EntryKinds.all.count * WriteOutcome.allCases.count)).map { _ in Counter() }

    func recordResponse(status: Int) {
        responses[min(max(status, 0), Self.statusSlots - 1)].value.add(1, ordering: .relaxed)
    }

    func recordWrite(_ kind: any EntryKindRule.Type, _ outcome: WriteOutcome) {
        writes[slot(kind, outcome)].value.add(1, ordering: .relaxed)
    }

    private func slot(_ kind: any EntryKindRule.Type, _ outcome: WriteOutcome) -> Int {
        let scopeIndex = EntryKinds.all.firstIndex { $0 == kind } ?? 0
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
        for (status, counter) in responses.enumerated() {
            let count = counter.value.load(ordering: .relaxed)
            if count > 0 { text += "pointmesh_http_responses_total{status=\"\(status)\"} \(count)\n" }
        }
        text += "# HELP pointmesh_writes_total Write requests by kind and outcome.\n# TYPE pointmesh_writes_total counter\n"
        for kind in EntryKinds.all {
            for outcome in WriteOutcome.allCases {
                let count = writes[slot(kind, outcome)].value.load(ordering: .relaxed)
                text += "pointmesh_writes_total{kind=\"\(kind.scope)\",outcome=\"\(outcome.rawValue)\"} \(count)\n"
            }
        }
        return text
    }
}
