import Foundation
import PointMeshHTTP
import Testing

@Suite struct DurabilityTests {
    /// Every purchase acknowledged with 201 is there after SIGKILL and restart, and the
    /// restarted ledger verifies clean.
    @Test func acknowledgedPurchasesSurviveSIGKILL() throws {
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try NodeProcess(dataDirectory: directory, extraArguments: ["--node-id", "durable-1"])
        let writers = 8, perWriter = 40
        let address = node.httpAddress
        let acknowledged = AcknowledgedSet()
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let client = HTTPClient(address: address, timeoutMilliseconds: 10_000)
            for index in 0..<perWriter {
                let receipt = "D-\(writer)-\(index)"
                let body = #"{"receipt_id":"\#(receipt)","account_id":"acct-\#(writer)","amount_fen":\#(100 * (index + 1))}"#
                if (try? client.postJSON("/v1/purchases", body))?.status == 201 { acknowledged.insert(receipt) }
            }
        }
        node.kill(SIGKILL)
        node.process.waitUntilExit()
        #expect(acknowledged.count == writers * perWriter)

        let restarted = try NodeProcess(dataDirectory: directory)
        defer { restarted.stop(); restarted.removeFiles() }
        #expect(restarted.readyLine.contains("node=durable-1"))
        let client = restarted.client()
        #expect(try client.getJSON("/v1/status")["entries"] as? Int == writers * perWriter)
        for writer in 0..<writers {
            // Each writer earned 1 + 2 + … + perWriter points on its account.
            #expect(try client.getJSON("/v1/accounts/acct-\(writer)")["balance"] as? Int == perWriter * (perWriter + 1) / 2)
        }
        for receipt in acknowledged.all.prefix(50) {
            let writer = receipt.split(separator: "-")[1], index = Int(receipt.split(separator: "-")[2])!
            let replay = try client.postJSON("/v1/purchases", #"{"receipt_id":"\#(receipt)","account_id":"acct-\#(writer)","amount_fen":\#(100 * (index + 1))}"#)
            #expect(replay.status == 200, "\(receipt) was acknowledged but is missing after the crash")
        }
        let verify = try runPointmesh(["verify", "--data", directory])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    /// The node is killed while writes are in flight (the test above kills it only once every
    /// write was answered, so it could not catch an answer sent before the commit was on disk):
    /// every purchase answered 201 is there after the restart, with the points it was told.
    @Test func purchasesAcknowledgedBeforeASIGKILLInFlightSurviveIt() throws {
        let directory = NodeProcess.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try NodeProcess(dataDirectory: directory, extraArguments: ["--node-id", "durable-2"])
        let address = node.httpAddress
        let acknowledged = AcknowledgedSet()
        let writers = DispatchGroup()
        for writer in 0..<8 {
            DispatchQueue.global().async(group: writers) {
                let client = HTTPClient(address: address, timeoutMilliseconds: 2_000)
                // Until the node dies: then every request fails and the writer stops.
                for index in 0..<100_000 {
                    let receipt = "K-\(writer)-\(index)"
                    guard let answer = try? client.postJSON("/v1/purchases", #"{"receipt_id":"\#(receipt)","account_id":"acct-\#(writer)","amount_fen":\#(100 * (index % 50 + 1))}"#)
                    else { return }
                    if answer.status == 201 { acknowledged.insert(receipt) }
                }
            }
        }
        #expect(eventually(within: 20) { acknowledged.count >= 200 })
        node.kill(SIGKILL)
        node.process.waitUntilExit()
        #expect(writers.wait(timeout: .now() + 30) == .success)
        let acknowledgedBeforeTheKill = acknowledged.all

        let restarted = try NodeProcess(dataDirectory: directory)
        defer { restarted.stop(); restarted.removeFiles() }
        let client = restarted.client()
        let entries = try client.getJSON("/v1/status")["entries"] as? Int ?? 0
        #expect(entries >= acknowledgedBeforeTheKill.count, "\(entries) entries held, \(acknowledgedBeforeTheKill.count) acknowledged")
        for receipt in acknowledgedBeforeTheKill {
            let parts = receipt.split(separator: "-"), writer = parts[1], index = Int(parts[2]) ?? 0
            let replay = try client.postJSON("/v1/purchases", #"{"receipt_id":"\#(receipt)","account_id":"acct-\#(writer)","amount_fen":\#(100 * (index % 50 + 1))}"#)
            #expect(replay.status == 200 && replay.json["points"] as? Int == index % 50 + 1, "\(receipt) was acknowledged but is missing after the crash")
        }
        let verify = try runPointmesh(["verify", "--data", directory])
        #expect(verify.status == 0, "\(verify.stdout)")
    }
}

/// Receipts acknowledged by the node, collected from several threads.
final class AcknowledgedSet: @unchecked Sendable {
    private let lock = NSLock()
    private var receipts: Set<String> = []
    func insert(_ receipt: String) { lock.lock(); receipts.insert(receipt); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return receipts.count }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return receipts.sorted() }
}
