import Synchronization

/// A Prometheus-style histogram recorded with atomics (no lock, no allocation on the recording
/// path): a count per bucket, a sum and a count. Read at scrape time.
public final class Histogram: Sendable {
    /// Upper bounds of the buckets, ascending; `+Inf` is implied.
    public let bounds: [Double]
    private let counts: [Counter]
    /// The sum in millionths, so an atomic integer can hold it.
    private let sumMicros = Atomic<Int>(0)
    private let total = Atomic<Int>(0)

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    public init(bounds: [Double]) {
        self.bounds = bounds
        counts = bounds.map { _ in Counter() }
    }

    public func observe(_ value: Double) {
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index].value.add(1, ordering: .relaxed) }
        sumMicros.add(Int((value * 1_000_000).rounded()), ordering: .relaxed)
        total.add(1, ordering: .relaxed)
    }

    /// Cumulative counts per bound (Prometheus's `le` buckets), then the sum and the count.
    public var snapshot: (cumulative: [(bound: Double, count: Int)], sum: Double, count: Int) {
        var running = 0
        let cumulative = zip(bounds, counts).map { bound, counter in
            running += counter.value.load(ordering: .relaxed)
            return (bound, running)
        }
        return (cumulative, Double(sumMicros.load(ordering: .relaxed)) / 1_000_000, total.load(ordering: .relaxed))
    }

    /// Its lines in the text exposition format, under `name` with `labels` (`key="value",…`).
    public func exposition(_ name: String, labels: String = "") -> String {
        let (cumulative, sum, count) = snapshot
        let prefix = labels.isEmpty ? "" : labels + ","
        var text = ""
        for (bound, running) in cumulative { text += "\(name)_bucket{\(prefix)le=\"\(bound)\"} \(running)\n" }
        text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)\n"
        let plain = labels.isEmpty ? "" : "{\(labels)}"
        text += "\(name)_sum\(plain) \(sum)\n\(name)_count\(plain) \(count)\n"
        return text
    }
}
