/// The schema, as numbered migrations. `PRAGMA user_version` records how many have run; a
/// database opens by running the ones after it, each in its own transaction. Never edit a
/// migration that has shipped: append a new one.
enum Migrations {
    static let all: [String] = [
        // 1: entries, counters, node metadata. Entries are clustered by (origin, seq), so a
        // node's own appends and a replica's catch-up both write sequentially; every other
        // index is kept to what a query needs, since each one dirties a page per write.
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE entries (
            origin        TEXT    NOT NULL,
            seq           INTEGER NOT NULL CHECK (seq > 0),
            hlc_wall      INTEGER NOT NULL,
            hlc_logical   INTEGER NOT NULL,
            kind          TEXT    NOT NULL,
            account       TEXT    NOT NULL,
            points        INTEGER NOT NULL,
            balance_delta INTEGER NOT NULL,
            debt_delta    INTEGER NOT NULL,
            balance_after INTEGER NOT NULL,
            idem_key      TEXT    NOT NULL,
            request_hash  TEXT    NOT NULL,
            receipt       TEXT,
            amount_fen    INTEGER,
            items         TEXT,
            reward_id     TEXT,
            member_id     TEXT,
            PRIMARY KEY (origin, seq)
        ) WITHOUT ROWID;
        CREATE INDEX entries_by_key ON entries (idem_key);
        CREATE INDEX entries_by_account ON entries (account, hlc_wall, hlc_logical);
        CREATE INDEX refunds_by_receipt ON entries (receipt) WHERE kind = 'refund';
        CREATE TABLE counters (
            account   TEXT    NOT NULL,
            origin    TEXT    NOT NULL,
            credit    INTEGER NOT NULL DEFAULT 0,
            debit     INTEGER NOT NULL DEFAULT 0,
            debt_up   INTEGER NOT NULL DEFAULT 0,
            debt_down INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (account, origin)
        ) WITHOUT ROWID;
        """,
        // 2: replication. A received entry that repeats a write another entry already counts
        // for is kept but marked duplicate (it counts zero); peers are remembered across restarts.
        """
        ALTER TABLE entries ADD COLUMN duplicate INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE peers (
            node_id TEXT PRIMARY KEY,
            address TEXT    NOT NULL,
            retired INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        """,
    ]

    /// Brings `connection` up to the latest schema version.
    static func migrate(_ connection: SQLiteConnection) throws {
        let current = Int(try connection.userVersion)
        guard current <= all.count else {
            throw StoreError.schemaTooNew(found: current, known: all.count)
        }
        for (index, sql) in all.enumerated() where index >= current {
            try connection.transaction {
                try connection.execute(sql)
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }
}
