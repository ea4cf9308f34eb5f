import Foundation
import PointMeshHTTP
import Testing

/// Runs a command to completion; returns its exit status.
@discardableResult
private func run(_ executable: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    process.standardError = FileHandle(forWritingAtPath: "/dev/null")
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}

/// A small tmpfs the test mounts itself, so the disk can really fill. Needs root (CI and this
/// sandbox run as root); elsewhere the suite is skipped, and says so.
private final class SmallDisk {
    let path: String

    init?(megabytes: Int) {
        path = NodeProcess.scratchDirectory() + "-tmpfs"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path]) == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
    }

    /// Fills the disk with one file, until the kernel says it is full.
    func fill() -> String {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        let chunk = [UInt8](repeating: 0xAB, count: 64 * 1024)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        return filler
    }

    deinit {
        run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    static let available: Bool = SmallDisk(megabytes: 1) != nil
}

@Suite(.enabled(if: SmallDisk.available, "needs root to mount a small tmpfs"))
struct StorageFailureTests {
    /// On a full disk the node refuses writes with 503 and a clear code, reports itself
    /// unhealthy in status and metrics, logs it once (not once per request), loses nothing it
    /// acknowledged, and recovers by itself when space returns.
    @Test func aFullDiskRefusesWritesVisiblyAndRecoversWhenSpaceReturns() throws {
        let disk = try #require(SmallDisk(megabytes: 8))
        let node = try NodeProcess(dataDirectory: disk.path + "/data")
        defer { node.stop() }
        let client = node.client()
        var acknowledged = 0
        for index in 0..<20 {
            if try client.postJSON("/v1/purchases", #"{"receipt_id":"A\#(index)","account_id":"fay","amount_fen":100}"#).status == 201 { acknowledged += 1 }
        }
        #expect(acknowledged == 20)
        let filler = disk.fill()

        // Pages already in the WAL may take a few more writes; then the disk is full.
        var refusal: HTTPClientResponse?
        for index in 0..<2_000 {
            let response = try client.postJSON("/v1/purchases", #"{"receipt_id":"B\#(index)","account_id":"fay","amount_fen":100}"#)
            if response.status == 201 { acknowledged += 1; continue }
            refusal = response
            break
        }
        let refused = try #require(refusal, "the disk never filled")
        #expect(refused.status == 503 && refused.errorCode == "storage_full", "\(refused.bodyText)")
        for index in 0..<20 {
            let again = try client.postJSON("/v1/purchases", #"{"receipt_id":"C\#(index)","account_id":"fay","amount_fen":100}"#)
            #expect(again.status == 503)
        }
        let status = try client.getJSON("/v1/status")
        #expect(status["healthy"] as? Bool == false)
        #expect((status["storage_error"] as? String)?.contains("full") == true, "\(status)")
        let metrics = try client.send("GET", "/metrics").bodyText
        #expect(metrics.contains("pointmesh_storage_healthy 0"))
        #expect(!metrics.contains("pointmesh_storage_failed_commits_total 0\n"))
        #expect(node.log.components(separatedBy: "writes are failing").count == 2, "logged once, not per request:\n\(node.log)")
        // Reads go on.
        #expect(try client.getJSON("/v1/accounts/fay")["balance"] as? Int == acknowledged)

        try FileManager.default.removeItem(atPath: filler)
        #expect(eventually(within: 10) {
            try client.postJSON("/v1/purchases", #"{"receipt_id":"D1","account_id":"fay","amount_fen":100}"#).status == 201
        })
        acknowledged += 1
        #expect(try client.getJSON("/v1/status")["healthy"] as? Bool == true)
        #expect(node.log.contains("writes are succeeding again"))
        #expect(try client.getJSON("/v1/accounts/fay")["balance"] as? Int == acknowledged)

        // Nothing acknowledged was lost, across a kill too.
        node.kill(SIGKILL)
        node.process.waitUntilExit()
        let restarted = try NodeProcess(dataDirectory: node.dataDirectory)
        defer { restarted.stop() }
        #expect(try restarted.client().getJSON("/v1/accounts/fay")["balance"] as? Int == acknowledged)
        #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
    }
}
