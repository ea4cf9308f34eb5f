import Foundation
@testable import PointMeshStore

/// A scratch database, written without fsync (these tests check logic).
func scratchDatabase() throws -> (LedgerDatabase, String) {
    let directory = NSTemporaryDirectory() + "pointmesh-store-test-db-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let database = try LedgerDatabase.openForWriting(path: LedgerStore.databasePath(in: directory))
    try database.connection.execute("PRAGMA synchronous = OFF")
    return (database, directory)
}
