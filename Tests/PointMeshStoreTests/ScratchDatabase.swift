import Foundation
import PointMeshCore
@testable import PointMeshStore

/// A scratch database, written without fsync (these tests check logic).
func scratchDatabase() throws -> (LedgerWriter, String) {
    let directory = NSTemporaryDirectory() + "pointmesh-store-test-db-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
    try database.connection.execute("PRAGMA synchronous = OFF")
    return (database, directory)
}

extension LedgerWriter {
    /// Decides `write` as a node named `origin` would at `now` (its clock ticked past every entry
    /// it wrote) and appends the entry, in one transaction: a local write, as the group-commit
    /// writer makes it.
    func writeDecided(_ write: PreparedWrite, origin: NodeID, clock: inout HybridLogicalClock, now: Int64) throws {
        try connection.transaction {
            let timestamp = clock.tick(now: now)
            let decision = try LedgerRules.decide(write, from: self, id: EntryID(origin: origin, sequence: try reader.versionVector()[origin] + 1),
                                                  timestamp: timestamp, context: RequestContext(node: origin, now: timestamp.wallMilliseconds))
            guard case .append(let entry) = decision else { throw StoreError.corruptRow("not written: \(decision)") }
            try append(entry)
        }
    }
}

extension NodeClock {
    /// A clock stopped at `wall` milliseconds, its monotonic time stopped too.
    static func frozen(at wall: Int64) -> NodeClock {
        NodeClock(wall: { wall }, monotonic: { 0 })
    }
}
