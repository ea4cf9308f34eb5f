import PointMeshCore
import PointMeshStore
import Synchronization

/// What the node counts for `GET /metrics` (Prometheus text format 0.0.4). Recording is on
/// every request's path, so it bumps atomics (and, per route, takes one short lock to find the
/// route's counters); the text is built at scrape time.
final class NodeMetrics: Sendable {
    /// What happened to a write request.
    enum WriteOutcome: String, CaseIterable {
        case created, replayed, refused
    }

    /// Why a request or connection was refused before it reached the API's rules.
    enum Refusal: String, CaseIterable {
        /// No token, or one the node doesn't know (401).
        case authentication
        /// A token whose role may not do that (403).
        case authorization
    }

    /// Status codes are counted individually below 600; anything else lands in the last slot.
    private static let statusSlots = 600
    /// One atomic counter; `Atomic` can't be copied into an array, a reference to it can.
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Request durations (seconds) per route.
    static let durationBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    private final class RouteStats: Sendable {
        let statuses = (0..<NodeMetrics.statusSlots).map { _ in Counter() }
        let durations = Histogram(bounds: NodeMetrics.durationBounds)
    }

    private let responses = (0..<statusSlots).map { _ in Counter() }
    private let writes = (0..<(EntryKinds.all.count * WriteOutcome.allCases.count)).map { _ in Counter() }
    private let refusals = Refusal.allCases.map { _ in Counter() }
    /// Per route (`METHOD /pattern`), created the first time the route answers.
    private let routes = Mutex<[String: RouteStats]>([:])

    func recordResponse(status: Int) {
        responses[Self.slot(status)].value.add(1, ordering: .relaxed)
    }

    /// One answered request of `route`, with its status and how long it took.
    func recordRequest(route: String, status: Int, seconds: Double) {
        let stats = routes.withLock { routes in
            if let stats = routes[route] { return stats }
            let stats = RouteStats()
            routes[route] = stats
            return stats
        }
        stats.statuses[Self.slot(status)].value.add(1, ordering: .relaxed)
        stats.durations.observe(seconds)
    }

    func recordRefusal(_ refusal: Refusal) {
        refusals[Refusal.allCases.firstIndex(of: refusal) ?? 0].value.add(1, ordering: .relaxed)
    }

    func recordWrite(_ kind: any EntryKindRule.Type, _ outcome: WriteOutcome) {
        writes[slot(kind, outcome)].value.add(1, ordering: .relaxed)
    }

    private static func slot(_ status: Int) -> Int { min(max(status, 0), statusSlots - 1) }

    private func slot(_ kind: any EntryKindRule.Type, _ outcome: WriteOutcome) -> Int {
        let scopeIndex = EntryKinds.all.firstIndex { $0 == kind } ?? 0
        let outcomeIndex = WriteOutcome.allCases.firstIndex(of: outcome) ?? 0
        return scopeIndex * WriteOutcome.allCases.count + outcomeIndex
    }

    /// One metric family: its HELP and TYPE lines and its samples (`labels`, value).
    struct Family {
        var name: String
        var help: String
        var type: String
        var samples: [(labels: String, value: String)]

        init(_ name: String, _ help: String, _ type: String, _ samples: [(labels: String, value: String)]) {
            self.name = name
            self.help = help
            self.type = type
            self.samples = samples
        }

        /// A family of one unlabelled sample.
        init(_ name: String, _ help: String, _ type: String, value: Int64) {
            self.init(name, help, type, [("", String(value))])
        }

        var text: String {
            var text = "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { text += "\(name)\(sample.labels.isEmpty ? "" : "{\(sample.labels)}") \(sample.value)\n" }
            return text
        }
    }

    /// The exposition: `families` the caller reads at scrape time, `histograms` (name, help,
    /// histogram), then what this object counted.
    func exposition(families: [Family], histograms: [(name: String, help: String, histogram: Histogram)]) -> String {
        var text = families.map(\.text).joined()
        for (name, help, histogram) in histograms {
            text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n" + histogram.exposition(name)
        }
        var statusSamples: [(labels: String, value: String)] = []
        for (status, counter) in responses.enumerated() {
            let count = counter.value.load(ordering: .relaxed)
            if count > 0 { statusSamples.append(("status=\"\(status)\"", String(count))) }
        }
        text += Family("pointmesh_http_responses_total", "HTTP responses by status code, every path included.", "counter", statusSamples).text
        let byRoute = routes.withLock { $0 }.sorted { $0.key < $1.key }
        var routeSamples: [(labels: String, value: String)] = []
        for (route, stats) in byRoute {
            for (status, counter) in stats.statuses.enumerated() {
                let count = counter.value.load(ordering: .relaxed)
                if count > 0 { routeSamples.append(("route=\"\(route)\",status=\"\(status)\"", String(count))) }
            }
        }
        text += Family("pointmesh_http_requests_total", "HTTP requests by route (method and path pattern) and status.", "counter", routeSamples).text
        text += "# HELP pointmesh_http_request_duration_seconds Time from a request's arrival to its answer, by route.\n"
        text += "# TYPE pointmesh_http_request_duration_seconds histogram\n"
        for (route, stats) in byRoute { text += stats.durations.exposition("pointmesh_http_request_duration_seconds", labels: "route=\"\(route)\"") }
        var writeSamples: [(labels: String, value: String)] = []
        for kind in EntryKinds.all {
            for outcome in WriteOutcome.allCases {
                writeSamples.append(("kind=\"\(kind.name)\",outcome=\"\(outcome.rawValue)\"", String(writes[slot(kind, outcome)].value.load(ordering: .relaxed))))
            }
        }
        text += Family("pointmesh_writes_total", "Write requests by kind and outcome.", "counter", writeSamples).text
        text += Family("pointmesh_http_refusals_total", "Requests refused for their token: authentication (401) or authorization (403).", "counter",
                       Refusal.allCases.enumerated().map { index, refusal in
                           ("reason=\"\(refusal.rawValue)\"", String(refusals[index].value.load(ordering: .relaxed)))
                       }).text
        return text
    }
}
