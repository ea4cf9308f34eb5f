import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import Synchronization

/// `pointmesh-bench compensation`: N accounts (one earning each, written straight into a
/// node's ledger); then `pointmesh compensate` grants all of them points in parts, while a probe
/// client keeps buying and timing each purchase. Reports the batch's time and the probe's
/// latency during it, against the disk's commit time (raw SQLite, one row per transaction).
enum CompensationBench: Command {
    static let name = "compensation"
    static let summary = "a compensation batch to N accounts while a till keeps buying"
    static let accounts = Option("accounts", .value("N"), "accounts in the batch (default 100000)")
    static let options: [Option] = [accounts, Bench.nodeBinary, Bench.directory]
    static let description = """
        N accounts with one earning each written into a node's ledger; then `pointmesh compensate`
        grants them all points in parts while a probe client keeps buying; the batch's time and the
        probe's latency during it, against the disk's commit time.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let accounts = Int(try arguments.integer(Self.accounts) ?? 100_000)
        guard accounts > 0 else { throw UsageError(message: "--accounts must be positive") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let directory = scratch + "/node"
        print("pointmesh-bench compensation: a grant to \(accounts) accounts, sent by `pointmesh compensate` in parts")
        try fill(directory: directory, accounts: accounts)
        let file = scratch + "/accounts.txt"
        try (0..<accounts).map { "c\($0)" }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let floor = try SQLiteBaseline.perRowCommits(path: scratch + "/baseline.sqlite", rows: 500)
        print(String(format: "baseline  raw SQLite, one row per transaction: %.2f ms per commit", 1000 / floor))
        let node = try BenchNode(dataDirectory: directory, arguments: ["--role", "hq"], binary: arguments.value(Bench.nodeBinary))
        defer { node.stop() }
        let before = try probe(node.httpAddress, seconds: 2, tag: "before")
        print(String(format: "probe     purchases alone:        median %6.2f ms, p99 %6.2f ms, max %6.2f ms", before.median, before.p99, before.maximum))

        let running = Atomic<Bool>(true), address = node.httpAddress
        let during = Mutex<Latencies?>(nil)
        let prober = Thread {
            during.withLock { $0 = try? probe(address, while: running, tag: "during") }
        }
        prober.start()
        let process = Process()
        process.executableURL = BenchNode.sibling
        process.arguments = ["compensate", "--node", "http://\(node.httpAddress)", "--batch", "bench-batch", "--reason", "benchmark",
                             "--reference", "BENCH-1", "--grant-points", "5", "--accounts-file", file, "--timeout", "60"]
        let errors = Pipe()
        process.standardError = errors
        let started = DispatchTime.now()
        try process.run()
        let progress = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let elapsed = Bench.seconds(since: started)
        running.store(false, ordering: .relaxed)
        while prober.isExecuting || !prober.isFinished { usleep(10_000) }
        let lines = String(decoding: progress, as: UTF8.self).split(separator: "\n")
        print("compensate exit \(process.terminationStatus), \(lines.count) progress lines, last: \(lines.last ?? "")")
        print(String(format: "batch     %d accounts in %.1f s: %.0f accounts/s", accounts, elapsed, Double(accounts) / elapsed))
        if let during = during.withLock({ $0 }) {
            print(String(format: "probe     purchases during batch: median %6.2f ms, p99 %6.2f ms, max %6.2f ms (%d purchases)",
                         during.median, during.p99, during.maximum, during.count))
            print(String(format: "          max / disk commit %.1fx", during.maximum / (1000 / floor)))
        }
        return process.terminationStatus == 0 ? 0 : 1
    }

    struct Latencies {
        var median: Double
        var p99: Double
        var maximum: Double
        var count: Int

        init(_ times: [Double]) {
            let sorted = times.sorted()
            median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            p99 = sorted.isEmpty ? 0 : sorted[sorted.count * 99 / 100]
            maximum = sorted.last ?? 0
            count = sorted.count
        }
    }

    private static func probe(_ address: HostPort, seconds: Double, tag: String) throws -> Latencies {
        let running = Atomic<Bool>(true)
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { running.store(false, ordering: .relaxed) }
        return try probe(address, while: running, tag: tag)
    }

    /// Purchases one after another until `running` turns false, each timed.
    private static func probe(_ address: HostPort, while running: borrowing Atomic<Bool>, tag: String) throws -> Latencies {
        let http = HTTPClient(address: address)
        var times: [Double] = []
        var index = 0
        while running.load(ordering: .relaxed) {
            let body = #"{"receipt_id":"probe-\#(tag)-\#(index)","account_id":"c\#(index % 1000)","amount_fen":1000}"#
            let start = DispatchTime.now()
            let status = try http.send("POST", "/v1/purchases", body: Array(body.utf8)).status
            guard status == 201 else { throw UsageError(message: "probe purchase answered \(status)") }
            times.append(Bench.seconds(since: start) * 1000)
            index += 1
        }
        return Latencies(times)
    }

    /// One earning per account, written through the store's append in transactions of 1,000.
    private static func fill(directory: String, accounts: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
        defer { database.connection.close() }
        try database.connection.execute("PRAGMA synchronous = OFF")
        let origin = NodeID(unchecked: "bench-origin")
        let now = Int64(Date().timeIntervalSince1970 * 1000) - 86_400_000
        for first in stride(from: 0, to: accounts, by: 1_000) {
            try database.connection.transaction {
                for index in first..<min(accounts, first + 1_000) {
                    let receipt = ReceiptID(unchecked: "B\(index)"), account = AccountID(unchecked: "c\(index)")
                    try database.append(LedgerEntry(
                        id: EntryID(origin: origin, sequence: Int64(index + 1)), timestamp: HLCTimestamp(wallMilliseconds: now + Int64(index), logical: 0),
                        code: Earn.code, idempotencyKey: IdempotencyKey(scope: Earn.scope, id: receipt.rawValue),
                        requestHash: RequestHash(canonical: receipt.rawValue),
                        moves: Earn.moves(customer: account, earned: Points(10), repaid: .zero, store: origin),
                        details: Earn.details(receipt: receipt, amount: Fen(1_000), items: [], balanceAfter: Points(10))))
                }
            }
        }
    }
}
