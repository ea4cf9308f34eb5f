@testable import PointMeshStore
import Testing

@Suite struct MigratorTests {
    @Test func aNameRegisteredTwiceIsRefusedBeforeAnythingRuns() throws {
        var migrator = Migrator()
        migrator.register("first", .sql("CREATE TABLE a (x INTEGER);"))
        migrator.register("second", .sql("CREATE TABLE b (x INTEGER);"))
        migrator.register("first", .sql("CREATE TABLE c (x INTEGER);"))
        let connection = try SQLiteConnection(path: ":memory:", mode: .readWrite)
        #expect(throws: StoreError.self) { try migrator.migrate(connection) }
        #expect(try connection.userVersion == 0)
        #expect(try connection.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table'") == 0, "nothing ran")
    }

    @Test func stepsRunOnceInOrderAndACutStepRunsAgain() throws {
        let connection = try SQLiteConnection(path: ":memory:", mode: .readWrite)
        var migrator = Migrator()
        migrator.register("table", .sql("CREATE TABLE a (x INTEGER);"))
        migrator.register("row", .sql("INSERT INTO a VALUES (1);"))
        try migrator.migrate(connection)
        try migrator.migrate(connection)
        #expect(try connection.userVersion == 2)
        #expect(try connection.integer("SELECT count(*) FROM a") == 1, "a step that ran is not run again")
        // A step that fails leaves the database as it was and is retried at the next start.
        migrator.register("broken", .rewrite { connection, _ in
            try connection.execute("INSERT INTO a VALUES (2);")
            throw StoreError.corruptRow("cut off")
        })
        #expect(throws: StoreError.self) { try migrator.migrate(connection) }
        #expect(try connection.userVersion == 2)
        #expect(try connection.integer("SELECT count(*) FROM a") == 1)
    }

    @Test func theLedgersStepsHaveDistinctNames() {
        let names = Migrations.registry.migrations.map(\.name)
        #expect(Migrations.registry.duplicate == nil)
        #expect(Set(names).count == names.count)
        #expect(names.first == "entries" && names.count >= 11)
    }
}
