import Dispatch
import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import Synchronization

/// `pointmesh bench`: acknowledged purchases per second through a real node's HTTP API,
/// against raw SQLite commits of the same rows measured in the same run.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "measure write throughput against a raw SQLite baseline"
    static let usage = """
        Usage: pointmesh bench [--requests N] [--clients LIST] [--dir DIR]

        Starts `pointmesh serve` on a scratch data directory and free ports, then:
          1. baseline: N rows appended straight to SQLite (same schema and rows as the node
             writes, WAL, synchronous=FULL, one transaction per row);
          2. for each client count in LIST, on a fresh node: N purchases over that many
             keep-alive connections, each counted when its 201 arrives.
        Prints rates, each rate's ratio to the baseline, and the node's peak RSS.

          --requests N    writes per phase (default 2000)
          --clients LIST  comma-separated client counts (default 1,32)
          --dir DIR       scratch directory (default a new one under the system temp dir)
        """
    static let valued: Set<String> = ["requests", "clients", "dir"]
    static let switches: Set<String> = []

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let requests = Int(try arguments.integer("requests") ?? 2000)
        guard requests > 0 else { throw UsageError(message: "--requests must be positive") }
        let clientCounts = try (arguments.value("clients") ?? "1,32").split(separator: ",").map { text throws(UsageError) in
            guard let count = Int(text), count > 0 else { throw UsageError(message: "--clients must be positive integers, got '\(text)'") }
            return count
        }
        let scratch = arguments.value("dir") ?? NSTemporaryDirectory() + "pointmesh-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        print("pointmesh bench: \(requests) writes per phase, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let baseline = try rawSQLiteRate(path: scratch + "/baseline.sqlite", rows: requests)
        print(String(format: "baseline  raw SQLite, 1 transaction per row: %8.0f rows/s", baseline))

        var peakRSS = 0
        for clients in clientCounts {
            // A fresh node per phase, so each starts from an empty ledger as the baseline did.
            let node = try BenchNode(dataDirectory: scratch + "/node-\(clients)")
            let rate = try purchaseRate(address: node.httpAddress, clients: clients, requests: requests, tag: "c\(clients)")
            peakRSS = max(peakRSS, node.peakRSSKilobytes())
            node.stop()
            print(String(format: "http      %3d client(s), acknowledged purchases: %8.0f /s   ratio to baseline %.2fx",
                         clients, rate, rate / baseline))
        }
        print("node peak RSS: \(peakRSS / 1024) MiB")
        return 0
    }

    /// Appends `rows` earn entries to a fresh database, one transaction each.
    static func rawSQLiteRate(path: String, rows: Int) throws -> Double {
        let database = try LedgerDatabase.openForWriting(path: path)
        let origin = NodeID(unchecked: "baseline")
        let started = DispatchTime.now()
        for index in 1...rows {
            let request = PurchaseRequest(
                receipt: ReceiptID(unchecked: "R-\(index)"), account: AccountID(unchecked: "A-\(index % 1000)"), amount: Fen(12_345))
            let command = WriteCommand.purchase(request)
            let entry = LedgerEntry(
                id: EntryID(origin: origin, sequence: Int64(index)),
                timestamp: HLCTimestamp(wallMilliseconds: Int64(index), logical: 0), kind: .earn,
                account: request.account, points: Points(123), balanceDelta: Points(123), debtDelta: .zero,
                balanceAfter: Points(123), idempotencyKey: command.idempotencyKey, requestHash: command.requestHash,
                receipt: request.receipt, amount: request.amount)
            try database.connection.transaction { try database.append(entry) }
        }
        return Double(rows) / seconds(since: started)
    }

    /// Sends `requests` purchases over `clients` connections; returns acknowledged writes/s.
    static func purchaseRate(address: HostPort, clients: Int, requests: Int, tag: String) throws -> Double {
        let failures = Atomic<Int>(0)
        let group = DispatchGroup()
        let started = DispatchTime.now()
        for client in 0..<clients {
            let share = requests / clients + (client < requests % clients ? 1 : 0)
            group.enter()
            Thread {
                let http = HTTPClient(address: address)
                for index in 0..<share {
                    let body = #"{"receipt_id":"\#(tag)-\#(client)-\#(index)","account_id":"A-\#(index % 1000)","amount_fen":12345}"#
                    let status = (try? http.send("POST", "/v1/purchases", body: Array(body.utf8)))?.status
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

/// A `pointmesh serve` child process on free ports.
final class BenchNode {
    let process = Process()
    let httpAddress: HostPort

    init(dataDirectory: String) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--data", dataDirectory, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let field = text.split(separator: " ").first(where: { $0.hasPrefix("http=") }),
              let address = HostPort(parsing: String(field.dropFirst(5)).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw UsageError(message: "the node did not print its ready line: \(text)")
        }
        httpAddress = address
    }

    func peakRSSKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
