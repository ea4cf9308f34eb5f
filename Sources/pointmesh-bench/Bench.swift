import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshTLS
import PointMeshStore
import Synchronization

/// What the benchmarks share: their scratch directory, a purchase load over HTTP, a clock
/// reading, and the help of their shared options.
enum Bench {
    static let nodeBinary = Option("node-binary", .value("PATH"),
                                   "run the nodes from another pointmesh build, to compare two builds against one baseline in one run (default the pointmesh beside this program)")
    static let directory = Option("dir", .value("DIR"),
                                  "where to make the run's scratch directory (default the system temp dir); the run creates pointmesh-bench-XXXXXX inside DIR and removes only that")

    /// A new scratch directory for one run, made inside `--dir` (default the system temp
    /// directory). The run removes only this directory: never `--dir` itself, nor anything
    /// else in it, which may be a live ledger.
    static func scratchDirectory(_ arguments: CommandLineArguments) throws -> String {
        let parent = arguments.value(directory) ?? NSTemporaryDirectory()
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } else if !isDirectory.boolValue {
            throw UsageError(message: "--dir \(parent) is a file; name a directory to make the scratch directory in")
        }
        var template = Array(((parent as NSString).appendingPathComponent("pointmesh-bench-XXXXXX")).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw UsageError(message: "cannot make a scratch directory in \(parent): \(String(cString: strerror(errno)))")
        }
        let scratch = String(cString: made)
        print("scratch directory: \(scratch) (removed at the end)")
        return scratch
    }

    /// Sends `requests` purchases over `clients` connections; returns acknowledged writes/s.
    /// `body(receipt, account)` makes each purchase's body (a plain one by default).
    static func purchaseRate(address: HostPort, clients: Int, requests: Int, tag: String, tls: TLSContext? = nil,
                             body: @escaping @Sendable (String, String) -> String = { #"{"receipt_id":"\#($0)","account_id":"\#($1)","amount_fen":12345}"# })
        throws -> Double {
        let failures = Atomic<Int>(0)
        let group = DispatchGroup()
        let started = DispatchTime.now()
        for client in 0..<clients {
            let share = requests / clients + (client < requests % clients ? 1 : 0)
            group.enter()
            Thread {
                let http = HTTPClient(address: address, tls: tls)
                for index in 0..<share {
                    let purchase = body("\(tag)-\(client)-\(index)", "A-\(index % 1000)")
                    let status = (try? http.send("POST", "/v1/purchases", body: Array(purchase.utf8)))?.status
                    if status != 201 { failures.add(1, ordering: .relaxed) }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = seconds(since: started)
        let failed = failures.load(ordering: .relaxed)
        if failed > 0 { print("warning: \(failed) requests were not acknowledged with 201") }
        return Double(requests - failed) / elapsed
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

