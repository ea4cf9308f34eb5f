import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshStore

/// `pointmesh verify`: recomputes every counter from the entries of a data directory.
enum VerifyCommand: Command {
    static let name = "verify"
    static let summary = "check a data directory's counters and lots against its entries"
    static let data = Option("data", .value("DIR"), required: true, "the node's data directory")
    static let rebuildReportSums = Option("rebuild-report-sums", .nothing,
                                          "write the sums HQ's reports read again from the lots and entries, then check (the node must be stopped)")
    static let options: [Option] = [data, rebuildReportSums]
    static let description = """
        Recomputes every balance counter, every account's expiry lots and the sums HQ's reports
        read from the ledger entries, and checks each origin's hash chain and that its sequence
        has no gaps. With --rebuild-report-sums it first writes those sums again (only with no
        node serving the directory). Prints
        each problem; exits 0 when there are none, 1 otherwise. Safe to run beside a serving node
        (it only reads, so a directory an older release wrote is refused until a node has
        started on it and upgraded it).
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let directory = try arguments.required(Self.data)
        let path = LedgerStore.databasePath(in: directory)
        guard FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("pointmesh verify: no ledger in \(directory) (no \(path))\n".utf8))
            return ExitStatus.refused
        }
        if arguments.has(Self.rebuildReportSums) {
            do {
                try LedgerStore.rebuildReportSums(in: directory) { print($0) }
                print("report sums written again from the ledger")
            } catch let error as StoreError {
                FileHandle.standardError.write(Data("pointmesh verify: \(directory): \(error)\n".utf8))
                return ExitStatus.refused
            }
        }
        let reader: LedgerReader
        do {
            reader = try LedgerReader.open(path: path)
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("pointmesh verify: \(directory): \(error)\n".utf8))
            return ExitStatus.refused
        }
        let problems = try LedgerVerifier(reader: reader).verify()
        let count = try reader.versionVector().entryCount
        for problem in problems { print("problem: \(problem)") }
        print(problems.isEmpty ? "ok: \(count) entries, every counter, lot and report sum matches its entries" : "\(problems.count) problem(s) in \(count) entries")
        return problems.isEmpty ? 0 : 1
    }
}
