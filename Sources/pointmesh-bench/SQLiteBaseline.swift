import Dispatch
import PointMeshCommandLine
import PointMeshStore

/// The fixed floors the benchmarks compare against: raw SQLite on a minimal table, with the
/// node's durability settings (WAL, `synchronous=FULL`) and none of its code. A change to
/// PointMesh can't move them (an earlier baseline used the node's own schema and
/// `LedgerWriter.append`, so fixing a bug there sped the baseline up and made the node look
/// slower), which is what makes a better ratio mean a faster node.
enum SQLiteBaseline {
    /// About the size of a purchase entry's row, so both write similar bytes per row.
    private static let payload = String(repeating: "p", count: 160)

    /// Rows per second, one transaction (one fsync) per row: the disk's commit rate.
    static func perRowCommits(path: String, rows: Int) throws -> Double {
        let connection = try open(path)
        defer { connection.close() }
        let started = DispatchTime.now()
        for id in 1...rows {
            try connection.transaction { try insert(id, connection) }
        }
        return Double(rows) / Bench.seconds(since: started)
    }

    /// Rows per second, `batch` rows per transaction: what a catch-up could reach at best.
    static func batchedInserts(path: String, rows: Int, batch: Int) throws -> Double {
        let connection = try open(path)
        defer { connection.close() }
        let started = DispatchTime.now()
        var next = 1
        while next <= rows {
            let end = min(rows, next + batch - 1)
            try connection.transaction { for id in next...end { try insert(id, connection) } }
            next = end + 1
        }
        return Double(rows) / Bench.seconds(since: started)
    }

    /// Milliseconds to read `rows` rows of the minimal table by key range and sum a column:
    /// the floor under reading one account's lots.
    static func rangeRead(path: String, rows: Int, repeats: Int) throws -> Double {
        let connection = try open(path)
        defer { connection.close() }
        try connection.transaction { for id in 1...rows { try insert(id, connection) } }
        let started = DispatchTime.now()
        var total = 0
        for _ in 0..<repeats {
            total += try connection.first("SELECT SUM(length(payload)) FROM rows WHERE id BETWEEN 1 AND ?", .integer(Int64(rows))) {
                Int($0.int64(0))
            } ?? 0
        }
        precondition(total == repeats * rows * payload.count)
        return Bench.seconds(since: started) * 1000 / Double(repeats)
    }

    /// Milliseconds to SUM a column over `rows` rows of the minimal table, made in batches
    /// first: the floor under a report that reads every entry once.
    static func scan(path: String, rows: Int, repeats: Int) throws -> Double {
        let connection = try open(path)
        defer { connection.close() }
        var next = 1
        while next <= rows {
            let end = min(rows, next + 9_999)
            try connection.transaction { for id in next...end { try insert(id, connection) } }
            next = end + 1
        }
        var times: [Double] = []
        for _ in 0..<repeats {
            let started = DispatchTime.now()
            let total = try connection.first("SELECT SUM(length(payload)) FROM rows") { Int($0.int64(0)) } ?? 0
            times.append(Bench.seconds(since: started) * 1000)
            precondition(total == rows * payload.count)
        }
        return times.sorted()[times.count / 2]
    }

    private static func open(_ path: String) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = FULL")
        try connection.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        return connection
    }

    private static func insert(_ id: Int, _ connection: SQLiteConnection) throws {
        try connection.run("INSERT INTO rows (id, payload) VALUES (?, ?)", .integer(Int64(id)), .text(payload))
    }
}
