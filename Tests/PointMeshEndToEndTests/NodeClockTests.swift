import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshNode
import Synchronization
import Testing

/// The node reads time only through the clock it is given: entries, log lines and request
/// durations all follow a clock a test holds still and moves.
@Suite struct NodeClockTests {
    @Test func everythingTheNodeTimesFollowsItsClock() throws {
        let start: Int64 = 1_800_000_000_000  // 2027-01-15T08:00:00Z
        let wall = Atomic<Int64>(start), monotonic = Atomic<UInt64>(5_000_000_000)
        let clock = NodeClock(wall: { wall.load(ordering: .relaxed) }, monotonic: { monotonic.load(ordering: .relaxed) })
        let lines = Mutex<[String]>([])
        let log = Logger(minimum: .debug, clock: clock) { line in lines.withLock { $0.append(line) } }
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try PointMeshNode.startedOnLoopback(dataDirectory: directory, clock: clock, log: log)
        defer { node.stop() }
        let client = HTTPClient(address: node.httpAddress)
        #expect(try client.postJSON("/v1/purchases", #"{"receipt_id":"R1","account_id":"ann","amount_fen":1000}"#).status == 201)
        wall.store(start + 86_400_000, ordering: .relaxed)
        #expect(try client.postJSON("/v1/purchases", #"{"receipt_id":"R2","account_id":"ann","amount_fen":1000}"#).status == 201)
        let entries = try client.getJSON("/v1/accounts/ann/entries")["entries"] as? [[String: Any]] ?? []
        #expect(entries.compactMap { $0["created_at"] as? String } == ["2027-01-16T08:00:00.000Z", "2027-01-15T08:00:00.000Z"], "\(entries)")
        let logged = lines.withLock { $0 }
        let requests = logged.filter { $0.contains(#""message":"request""#) }
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0.contains(#""duration_ms":"0.000""#) }, "a request's duration is read on the node's clock, held still here")
        #expect(logged.allSatisfy { $0.contains(#""time":"2027-01-1"#) }, "every line's time is the node's clock's: \(logged)")
    }
}
