import PointMeshCore

/// One named step of the schema's history: SQL, or Swift for a step that must rewrite rows.
struct Migration: Sendable {
    enum Step: Sendable {
        case sql(String)
        case rewrite(@Sendable (SQLiteConnection, (String) -> Void) throws -> Void)
    }

    let name: String
    let step: Step
}

/// The schema's history as named steps, in the order they run (as GRDB's `DatabaseMigrator`).
/// `PRAGMA user_version` records how many have run (as every release has); a database opens by
/// running the ones after it, each in its own transaction, so a step cut off half-way leaves
/// the database as it was and runs again at the next start. A name given twice is refused
/// before anything runs. Never edit or reorder a step that has shipped: register a new one.
struct Migrator: Sendable {
    private(set) var migrations: [Migration] = []
    /// The first name registered twice, which `migrate` refuses.
    private(set) var duplicate: String?

    mutating func register(_ name: String, _ step: Migration.Step) {
        if duplicate == nil, migrations.contains(where: { $0.name == name }) { duplicate = name }
        migrations.append(Migration(name: name, step: step))
    }

    /// Refuses a database whose schema is not this build's latest: an older one is read only
    /// after a node's start upgraded it, a newer one never.
    func requireLatest(_ connection: SQLiteConnection) throws {
        let current = Int(try connection.userVersion)
        guard current <= migrations.count else { throw StoreError.schemaTooNew(found: current, known: migrations.count) }
        guard current == migrations.count else { throw StoreError.schemaTooOld(found: current, known: migrations.count) }
    }

    /// Brings `connection` up to the latest schema version; `progress` hears of long steps.
    func migrate(_ connection: SQLiteConnection, progress: (String) -> Void = { _ in }) throws {
        if let duplicate { throw StoreError.duplicateMigration(duplicate) }
        let current = Int(try connection.userVersion)
        guard current <= migrations.count else {
            throw StoreError.schemaTooNew(found: current, known: migrations.count)
        }
        for (index, migration) in migrations.enumerated() where index >= current {
            try connection.transaction {
                switch migration.step {
                case .sql(let sql): try connection.execute(sql)
                case .rewrite(let step): try step(connection, progress)
                }
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }
}

enum Migrations {
    /// Every step, release 0.1 onwards. The comment on each says what it did and in which release.
    static let registry: Migrator = {
        var migrator = Migrator()
        // Entries, counters, node metadata. Entries are clustered by (origin, seq), so a
        // node's own appends and a replica's catch-up both write sequentially; every other
        // index is kept to what a query needs, since each one dirties a page per write.
        migrator.register("entries", .sql("""
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
        """))
        // Replication. A received entry that repeats a write another entry already counts
        // for is kept but marked duplicate (it counts zero); peers are remembered across restarts.
        migrator.register("replication", .sql("""
        ALTER TABLE entries ADD COLUMN duplicate INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE peers (
            node_id TEXT PRIMARY KEY,
            address TEXT    NOT NULL,
            retired INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        """))
        // One ledger model (release 0.3). Every change is moves between accounts; an entry
        // is stored as its encoded bytes with the columns queries need, history and links are
        // index tables any kind fills, balances are per (account, asset, origin) with posted
        // and pending totals, and each row keeps its origin's hash chain over the entries'
        // bytes up to it (the ledger digest reads each origin's last). Entries of release 0.2 are rewritten into it.
        migrator.register("ledger-model", .rewrite(LegacyEntries.upgrade))
        // Expiry lots (release 0.4): each customer's open lots and deficit, kept equal to a
        // fold of its entries (`LotFold.swift`); existing entries are folded here.
        migrator.register("expiry-lots", .rewrite(LotFold.createLots))
        // Green points (release 0.5): a lot is green or regular. Lots before it are regular.
        migrator.register("green-lots", .rewrite(LotFold.addGreenLots))
        // A green earning's regular and green lot in one row while both are whole (release
        // 0.6, `LotPair`). Existing rows stay as they are: an unpaired row has no twin.
        migrator.register("lot-pairs", .sql("""
        ALTER TABLE lots ADD COLUMN twin_move INTEGER;
        ALTER TABLE lots ADD COLUMN twin_amount INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE lots ADD COLUMN twin_remaining INTEGER NOT NULL DEFAULT 0;
        """))
        // The stores' issuance counters by month (release 0.6), for a chain budget's check
        // (`issued(by:in:)`), which summed every store's counter of every month on every
        // purchase. Only a new counter row writes it: updates don't change its columns.
        migrator.register("issued-by-month-index", .sql(LedgerReader.issuedByMonthIndex))
        // Different requests under one id both count (release 0.7): entries kept as
        // duplicates of a different request count again (`countClashingWrites`).
        migrator.register("clashing-writes-count", .rewrite(LedgerWriter.countClashingWrites))
        // Refunds past their purchase on the converged history are void (release 0.7,
        // `RefundCondition`): the table of void entries, and those a 0.6 node counted voided.
        migrator.register("void-refunds", .rewrite(LedgerWriter.voidRefundsPastTheirPurchase))
        // A customer's points are its lots, not a counter (release 0.5 stopped counting
        // them, `MoveEffects.isCounted`), but a data directory of release 0.4 kept its rows
        // through every upgrade since: verify found them and points did not sum to zero.
        migrator.register("drop-customer-points-counters", .sql("DELETE FROM balances WHERE asset = \(Asset.points.code) AND substr(account, 1, 1) <> '@';"))
        // A transfer in repays the receiver's debt first (release 0.7), so a transfer the
        // converged history voids must take its repayment out of the counters: void transfers
        // are kept in `void_entries` like void refunds (`keepVoidTransfers`).
        migrator.register("void-transfers", .rewrite(LedgerWriter.keepVoidTransfers))
        // The change feed (release 0.7): every entry at the position it was stored at, for a
        // warehouse to load and continue from (`LedgerReader.feed`).
        migrator.register("feed-order", .sql(LedgerReader.feedSchema))
        // HQ's reports read sums kept in the write transaction (release 0.7, `ReportSums`):
        // report figures by day, points left in lots by day of expiry, and the indexes that
        // find the parts of days a report cuts. Filled here from the lots and every entry.
        migrator.register("report-sums", .rewrite(ReportSums.create))
        // Spending rights (release 0.8): which node holds each lot (`Lot.holder`), moved by
        // rights grants; NULL is the lot's origin, so existing rows stay as they are, but for
        // accounts a 0.7 node folded with 0.8's entries, folded again.
        migrator.register("spending-rights", .rewrite(LotFold.adoptSpendingRights))
        // Entries sealed by their origin (release 0.8, `EntrySeal`): the seal on an entry, if
        // it has one, and the certificates seals name. Entries stored before have none.
        migrator.register("entry-seals", .sql(LedgerReader.sealSchema))
        return migrator
    }()

    /// The tables of the one ledger model (migration "ledger-model").
    static let ledgerModel = """
        CREATE TABLE ledger_entries (
            origin      TEXT    NOT NULL,
            seq         INTEGER NOT NULL CHECK (seq > 0),
            hlc_wall    INTEGER NOT NULL,
            hlc_logical INTEGER NOT NULL,
            code        INTEGER NOT NULL,
            idem_key    TEXT    NOT NULL,
            duplicate   INTEGER NOT NULL DEFAULT 0,
            body        BLOB    NOT NULL,
            chain       BLOB    NOT NULL,
            PRIMARY KEY (origin, seq)
        ) WITHOUT ROWID;
        CREATE INDEX ledger_entries_by_key ON ledger_entries (idem_key);
        CREATE TABLE entry_accounts (
            account     TEXT    NOT NULL,
            hlc_wall    INTEGER NOT NULL,
            hlc_logical INTEGER NOT NULL,
            origin      TEXT    NOT NULL,
            seq         INTEGER NOT NULL,
            PRIMARY KEY (account, hlc_wall, hlc_logical, origin, seq)
        ) WITHOUT ROWID;
        CREATE TABLE entry_links (
            link   TEXT    NOT NULL,
            origin TEXT    NOT NULL,
            seq    INTEGER NOT NULL,
            PRIMARY KEY (link, origin, seq)
        ) WITHOUT ROWID;
        CREATE TABLE balances (
            account         TEXT    NOT NULL,
            asset           INTEGER NOT NULL,
            origin          TEXT    NOT NULL,
            debits_posted   INTEGER NOT NULL DEFAULT 0,
            credits_posted  INTEGER NOT NULL DEFAULT 0,
            debits_pending  INTEGER NOT NULL DEFAULT 0,
            credits_pending INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (account, asset, origin)
        ) WITHOUT ROWID;
        """
}
