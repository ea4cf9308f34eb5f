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

extension NodeClock {
    /// A clock stopped at `wall` milliseconds, its monotonic time stopped too.
    static func frozen(at wall: Int64) -> NodeClock {
        NodeClock(wall: { wall }, monotonic: { 0 })
    }
}
