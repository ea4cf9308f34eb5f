import Foundation
import PointMeshCore
@testable import PointMeshStore
import PointMeshSimulation
import Testing

private let day = CivilCalendar.millisecondsPerDay

/// Random earnings (some with green lines), redemptions, refunds, compensations, family joins and leaves, transfers and
/// a short policy for a few accounts, written at two stores that never sync (so their entries
/// interleave in time, and each decides on memberships the other contradicts), over 60 days.
/// Returns each store's entries in sequence order. `rights`: decided under spending rights,
/// with rights grants between the stores among the writes.
func randomEntries(seed: UInt64, rights: Bool = false) throws -> [[LedgerEntry]] {
    var random = SplitMix64(seed: seed)
    var ledgers = [MemoryLedger(origin: NodeID(unchecked: "w0")), MemoryLedger(origin: NodeID(unchecked: "w1"))]
    _ = try ledgers[0].write(PreparedWrite(ExpiryPolicyKind.self, ExpiryPolicyKind.Request(version: RequestID(unchecked: "d20"), rule: .days(20),
                                                                                           effectiveAt: 31 * day)), now: 0)
    _ = try ledgers[0].write(PreparedWrite(GreenCategory.self, CategoryID(unchecked: "tea")), now: 1)
    for step in 0..<300 {
        let store = Int(random.next() % 2)
        let now = Int64(step) * day / 5
        let account = AccountID(unchecked: "a\(random.next() % 4)")
        let write: PreparedWrite
        let family = FamilyID(unchecked: "f\(random.next() % 2)")
        switch random.next() % 9 {
        case 0, 1, 2:
            // A purchase of every third step buys green tea too: a green lot beside the regular one, in one row.
            let fen = Int64(100 + random.next() % 5_000)
            let items = step % 3 == 0 ? [PurchaseItem(sku: SKU(unchecked: "leaf"), category: CategoryID(unchecked: "tea"), amount: Fen(fen / 2)),
                                                  PurchaseItem(sku: SKU(unchecked: "pot"), category: CategoryID(unchecked: "tools"), amount: Fen(fen - fen / 2))] : []
            write = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R\(step)"), account: account, amount: Fen(fen), items: items))
        case 3:
            write = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(step)"), account: account, points: Points(Int64(1 + random.next() % 40))))
        case 4:
            write = PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F\(step)"), receipt: ReceiptID(unchecked: "R\(random.next() % UInt64(step + 1))"),
                                                              amount: Fen(Int64(1 + random.next() % 2_000))))
        case 5:
            let sequence = ledgers[store].linkedEntries(FamilyMembership.memberLink(account)).count
            let membership = MembershipRequest(family: family, account: account)
            write = random.next() % 3 == 0 ? PreparedWrite(FamilyLeave.self, membership, versions: sequence)
                : PreparedWrite(FamilyJoin.self, membership, versions: sequence)
        case 6, 7:
            let parties = [account, AccountID(unchecked: "a\(random.next() % 4)"), family.pool].shuffled(using: &random)
            write = PreparedWrite(Transfer.self, Transfer.Request(request: RequestID(unchecked: "T\(step)"), from: parties[0], to: parties[1],
                                                                  points: Points(Int64(1 + random.next() % 60))))
        case _ where rights && random.next() % 2 == 0:
            write = PreparedWrite(RightsGrant.self, RightsGrant.Request(account: account, receiver: NodeID(unchecked: "w\(1 - store)"),
                                                                        request: RequestID(unchecked: "G\(step)")))
        default:
            write = PreparedWrite(Compensation.self, Compensation.Request(
                batch: RequestID(unchecked: "C\(step)"), part: nil, action: .extendExpiry, reason: "r", reference: "x", accounts: [account],
                expiring: max(0, now - 5 * day)...(now + 5 * day), days: Int64(1 + random.next() % 10)))
        }
        _ = try? ledgers[store].write(write, now: now, settings: NodeSettings(returnWindow: step % 3 == 0 ? 2 * day : 0, spendingRights: rights))
        // Under rights each store hears the other's entries now and then, so it has rights granted to spend.
        if rights, step % 25 == 24 {
            for (index, other) in ledgers.enumerated() { _ = ledgers[1 - index].apply(other.allEntries) }
        }
    }
    return ledgers.map { ledger in ledger.allEntries.filter { $0.id.origin == ledger.origin }.sorted { $0.id.sequence < $1.id.sequence } }
}

/// Two stores holding `stores`' entries: one given them one by one in ledger order, the other
/// each store's in turn, the last store's first (landing before entries already folded), in
/// batches of `batch(index)` entries.
func twoArrivalOrders(_ stores: [[LedgerEntry]], batch: (Int) -> Int) throws -> (inOrder: LedgerWriter, late: LedgerWriter, directories: [String]) {
    let (inOrder, first) = try scratchDatabase(), (late, second) = try scratchDatabase()
    for entry in stores.flatMap({ $0 }).sorted(by: { LotOrder($0) < LotOrder($1) }) {
        try inOrder.connection.transaction { try inOrder.applyReceived([entry]) }
    }
    for (index, entries) in stores.reversed().enumerated() {
        for start in stride(from: 0, to: entries.count, by: batch(index)) {
            try late.connection.transaction { try late.applyReceived(Array(entries[start..<min(entries.count, start + batch(index))])) }
        }
    }
    return (inOrder, late, [first, second])
}

/// Closes scratch databases and removes their directories.
func close(_ databases: [LedgerWriter], _ directories: [String]) {
    for database in databases { database.connection.close() }
    for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
}

/// The customers and the family pools of `randomEntries`.
let accounts = (0..<4).map { AccountID(unchecked: "a\($0)") } + (0..<2).map { FamilyID(unchecked: "f\($0)").pool }

@Suite struct LotTableTests {
    /// The SQL sums every decision and the account view read equal the book's own, at many
    /// instants; and so do the answers decisions compute from them.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func theSQLSummaryAgreesWithTheBook(seed: UInt64) throws {
        let (database, directory) = try scratchDatabase()
        defer { database.connection.close(); try? FileManager.default.removeItem(atPath: directory) }
        try database.connection.transaction { try database.applyReceived(try randomEntries(seed: seed).flatMap { $0 }) }
        for account in accounts {
            let reader = database.reader, book = try reader.lotBook(of: account)
            for instant in stride(from: Int64(0), to: 90 * day, by: Int(day / 3)) {
                var summary = try reader.accountFacts(of: account, at: instant).summary
                summary.expiring = try reader.expiring(of: account, at: instant)
                summary.expired = try reader.expiredPoints(of: account, at: instant)
                #expect(summary == book.summary(at: instant), "\(account) at day \(instant / day)")
                for source in Set(book.lots.map(\.source)) {
                    let pending = book.lots.filter { $0.source == source && $0.isPending(at: instant) }.reduce(Points.zero) { $0 + $1.remaining }
                    #expect(try reader.pendingPoints(of: account, source: source, at: instant) == pending)
                }
            }
        }
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
    }

    /// Under spending rights: each lot's holder, the rights each node holds and the pending
    /// points of a source a node holds, as the store keeps and sums them, equal the fold's,
    /// whatever order the entries arrive in.
    @Test(arguments: [4, 5] as [UInt64])
    func heldRightsAgreeWithTheFold(seed: UInt64) throws {
        let stores = try randomEntries(seed: seed, rights: true)
        let all = stores.flatMap { $0 }
        #expect(all.filter { $0.code == RightsGrant.code }.count >= 5)
        #expect(try all.filter { try LotEvents.isDecidedUnderRights($0) }.count >= 10)
        let (inOrder, late, directories) = try twoArrivalOrders(stores) { _ in 11 }
        defer { close([inOrder, late], directories) }
        var moved = 0
        for account in accounts {
            let folded = try LotEvents.fold(all.filter { $0.customerAccounts.contains(account) }, for: account) { member in
                all.filter { FamilyMembership.change(of: $0) != nil && $0.customerAccounts == [member] }
            }
            moved += folded.lots.filter { $0.holder != $0.id.entry.origin }.count
            for database in [inOrder, late] {
                #expect(try database.lotBook(of: account) == folded)
                for instant in stride(from: Int64(0), to: 80 * day, by: Int(day)) {
                    #expect(try database.reader.rightsByHolder(of: account, at: instant) == folded.rightsByHolder(at: instant))
                    #expect(try database.reader.lotHolders(of: account, at: instant) == folded.holders(at: instant))
                    for node in ["w0", "w1"].map(NodeID.init(unchecked:)) {
                        #expect(try database.reader.heldRights(of: account, by: node, at: instant) == folded.rights(of: node, at: instant))
                        for source in Set(folded.lots.map(\.source)) {
                            let pending = folded.lots.filter { $0.source == source && $0.isPending(at: instant) && $0.holder == node }
                                .reduce(Points.zero) { $0 + $1.remaining }
                            #expect(try database.reader.pendingPoints(of: account, source: source, at: instant, heldBy: node) == pending)
                        }
                    }
                }
            }
        }
        #expect(moved > 0, "some lots should be held by a node other than their origin")
        #expect(try LedgerVerifier(reader: late.reader).verify().isEmpty)
        #expect(try LedgerVerifier(reader: inOrder.reader).verify().isEmpty)
    }

    /// Upgrading from a release without spending rights: a node that stored rights grants as an
    /// unknown kind and folded debits decided under rights without their holders has its lots
    /// wrong for those accounts; migration "spending-rights" finds them and folds them again.
    @Test func theUpgradeFoldsAgainTheAccountsARightsBlindNodeFolded() throws {
        let all = try randomEntries(seed: 6, rights: true).flatMap { $0 }
        let (database, directory) = try scratchDatabase()
        defer { close([database], [directory]) }
        try database.connection.transaction { try database.applyReceived(all.sorted { LotOrder($0) < LotOrder($1) }) }
        let folded = try accounts.map { try database.lotBook(of: $0) }
        // What a node without rights kept: no holders at all.
        try database.connection.execute("UPDATE lots SET holder = NULL")
        #expect(try accounts.map { try database.lotBook(of: $0) } != folded)
        try database.connection.transaction { try LotFold.adoptSpendingRights(database.connection) { _ in } }
        database.dropCaches()
        #expect(try accounts.map { try database.lotBook(of: $0) } == folded)
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
    }

    /// A green earning's regular and green lot go in as one row (`LotPair`) and read back as
    /// two; the first write that changes either splits the row: a green-only reward, a refund,
    /// an expiry extension, a plain redemption, a transfer. After each step the SQL sums equal the book's,
    /// the lots equal a fold of the entries, the liability from the report sums equals the fold's,
    /// and `verify` finds nothing.
    @Test func aGreenEarningsLotsShareARowUntilEitherChanges() throws {
        let (database, directory) = try scratchDatabase()
        defer { database.connection.close(); try? FileManager.default.removeItem(atPath: directory) }
        let origin = NodeID(unchecked: "w0"), tea = CategoryID(unchecked: "tea"), alice = AccountID(unchecked: "alice")
        var clock = HybridLogicalClock(), now: Int64 = day
        func write(_ write: PreparedWrite) throws {
            now += 1_000
            try database.writeDecided(write, origin: origin, clock: &clock, now: now)
        }
        func earn(_ receipt: String) throws {
            let items = [PurchaseItem(sku: SKU(unchecked: "leaf"), category: tea, amount: Fen(3_000)),
                         PurchaseItem(sku: SKU(unchecked: "pot"), category: CategoryID(unchecked: "tools"), amount: Fen(7_000))]
            try write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: alice, amount: Fen(10_000), items: items)))
        }
        func rows() throws -> (all: Int, paired: Int) {
            try database.connection.first("SELECT COUNT(*), COUNT(twin_move) FROM lots WHERE account = 'alice'") { (Int($0.int64(0)), Int($0.int64(1))) } ?? (0, 0)
        }
        func expectConsistent(_ step: String, of account: AccountID = alice, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let book = try database.lotBook(of: account)
            var cache = LotEventCache()
            #expect(book == (try database.fold.foldedLots(of: account, cache: &cache)), "\(step)", sourceLocation: sourceLocation)
            let reader = database.reader
            for instant in [now, now + 400 * day, now + 800 * day] {
                var summary = try reader.accountFacts(of: account, at: instant).summary
                summary.expiring = try reader.expiring(of: account, at: instant)
                summary.expired = try reader.expiredPoints(of: account, at: instant)
                #expect(summary == book.summary(at: instant), "\(step), day \(instant / day)", sourceLocation: sourceLocation)
                #expect(try reader.liabilityFromSums(asOf: instant).json(value: nil, freshness: [], now: 0)
                        == reader.liability(asOf: instant).json(value: nil, freshness: [], now: 0), "\(step), day \(instant / day)", sourceLocation: sourceLocation)
            }
            #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty, "\(step)", sourceLocation: sourceLocation)
        }

        try write(PreparedWrite(GreenCategory.self, tea))
        try earn("R1")
        let book = try database.lotBook(of: alice)
        #expect(book.lots.map(\.green) == [false, true] && book.lots.map(\.remaining) == [Points(70), Points(30)])
        #expect(try rows() == (1, 1))
        #expect(try database.accountFacts(of: alice, at: now).summary.green == Points(30))
        try expectConsistent("paired")

        let reward = Reward(id: RequestID(unchecked: "bag"), name: "Bag", points: Points(10), kind: .goods, greenOnly: true)
        try write(PreparedWrite(RewardDefinition.self, reward))
        try write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: alice, points: nil, reward: reward.id)))
        #expect(try database.lotBook(of: alice).lots.map(\.remaining) == [Points(70), Points(20)])
        #expect(try rows() == (2, 0))
        try expectConsistent("after a green-only reward")

        try earn("R2")
        #expect(try rows() == (3, 1))
        try write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F2"), receipt: ReceiptID(unchecked: "R2"), amount: Fen(10_000))))
        #expect(try rows().paired == 0)
        try expectConsistent("after a refund of the whole receipt")

        try earn("R3")
        #expect(try rows().paired == 1)
        let expiry = try database.lotBook(of: alice).lots.last!.expiresAt
        try write(PreparedWrite(Compensation.self, Compensation.Request(
            batch: RequestID(unchecked: "C3"), part: nil, action: .extendExpiry, reason: "r", reference: "x", accounts: [alice],
            expiring: expiry...expiry, days: 30)))
        #expect(try rows().paired == 0)
        try expectConsistent("after an expiry extension")

        try earn("R4")
        #expect(try rows().paired == 1)
        try write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q4"), account: alice, points: Points(260))))
        #expect(try rows().paired == 0)
        try expectConsistent("after a redemption of nearly everything")

        let bob = AccountID(unchecked: "bob"), family = FamilyID(unchecked: "f")
        for member in [alice, bob] { try write(PreparedWrite(FamilyJoin.self, MembershipRequest(family: family, account: member), versions: 0)) }
        try earn("R5")
        #expect(try rows().paired == 1)
        let all = try database.accountFacts(of: alice, at: now).summary.spendable
        try write(PreparedWrite(Transfer.self, Transfer.Request(request: RequestID(unchecked: "T5"), from: alice, to: bob, points: all)))
        #expect(try rows() == (0, 0) && database.lotBook(of: bob).lots.map(\.green).contains(true))
        try expectConsistent("after a transfer of everything, the giver")
        try expectConsistent("after a transfer of everything, the receiver", of: bob)
    }

    /// A 0.4 database (no green or pair columns, no index of counters by month, no report sums;
    /// lots folded by 0.4, which didn't know 0.5's kinds) is folded again by migration 5 and gets
    /// the rest from the migrations after it: its lots equal a fold of its entries, and the
    /// report sums are filled.
    @Test func migrationFiveFoldsTheLotsAgain() throws {
        let (database, directory) = try scratchDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let all = try randomEntries(seed: 5).flatMap { $0 }
        try database.connection.transaction { try database.applyReceived(all) }
        try database.connection.execute("DROP TRIGGER lot_totals_insert; DROP TRIGGER lot_totals_update; DROP TRIGGER lot_totals_delete; DROP TABLE lot_totals; "
                                         + "DROP TABLE day_totals; DROP INDEX lots_by_expiry; DROP INDEX lots_pending; DROP INDEX ledger_entries_by_time; "
                                         + "DELETE FROM lots; DELETE FROM lot_deficits; ALTER TABLE lots DROP COLUMN green; "
                                         + "ALTER TABLE lots DROP COLUMN twin_move; ALTER TABLE lots DROP COLUMN twin_amount; ALTER TABLE lots DROP COLUMN twin_remaining; DROP INDEX balances_issued_by_month; DROP TABLE feed; "
                                         + "ALTER TABLE ledger_entries DROP COLUMN seal; DROP TABLE certificates; "
                                         + "PRAGMA user_version = 4")
        database.connection.close()
        let upgraded = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
        defer { upgraded.connection.close() }
        #expect(try LedgerVerifier(reader: upgraded.reader).verify().isEmpty)
        #expect(try accounts.contains { try !upgraded.lotBook(of: $0).lots.isEmpty })
    }

    /// One store's entries, then the other's (each landing before entries already folded), in
    /// batches of various sizes: the lots equal those of entries applied in ledger order, and
    /// a fold of them.
    @Test func lotsDoNotDependOnArrivalOrder() throws {
        let stores = try randomEntries(seed: 9)
        let all = stores.flatMap { $0 }
        let (inOrder, late, directories) = try twoArrivalOrders(stores) { 7 + $0 * 30 }
        defer { close([inOrder, late], directories) }
        var transfers = 0, void = 0
        for entry in all where entry.code == Transfer.code {
            transfers += 1
            if try !FamilyCondition.stands(entry, memberships: { member in all.filter { FamilyMembership.change(of: $0) != nil && $0.customerAccounts == [member] } }) {
                void += 1
            }
        }
        #expect(transfers >= 5 && void > 0, "the entries should hold transfers, some contradicted: \(transfers), \(void)")
        for account in accounts {
            let folded = try LotEvents.fold(all.filter { $0.customerAccounts.contains(account) }, for: account) { member in
                all.filter { FamilyMembership.change(of: $0) != nil && $0.customerAccounts == [member] }
            }
            #expect(try inOrder.lotBook(of: account) == folded)
            #expect(try late.lotBook(of: account) == folded)
        }
        #expect(try LedgerVerifier(reader: late.reader).verify().isEmpty)
        #expect(try LedgerVerifier(reader: inOrder.reader).verify().isEmpty)
    }

    /// An earning that repays debt inside a return window credits its lot and takes the
    /// repayment from that lot, in that order, in one entry, written by the node itself (the
    /// writer's quick path for whole-lot credits must not reorder them).
    @Test func anEarningThatRepaysDebtLeavesTheLotsItsEntriesFoldTo() throws {
        let directory = NSTemporaryDirectory() + "pointmesh-lots-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now: Int64 = 1_700_000_000_000
        let store = try LedgerStore(directory: directory, nodeID: NodeID(unchecked: "s1"), newNodeID: { NodeID(unchecked: "s1") }, clock: .frozen(at: now))
        defer { store.close() }
        let alice = AccountID(unchecked: "alice")
        func write<Kind: EntryKindRule>(_ kind: Kind.Type, _ request: Kind.Request, returnWindow: Int64 = 0) throws {
            _ = try store.write(PreparedWrite(kind, request), context: RequestContext(node: NodeID(unchecked: "s1"), now: now, settings: NodeSettings(returnWindow: returnWindow)))
        }
        try write(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: alice, amount: Fen(10_000)))
        try write(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q1"), account: alice, points: Points(100)))
        try write(Refund.self, Refund.Request(refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R1"), amount: Fen(10_000)))
        try write(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R2"), account: alice, amount: Fen(5_000)), returnWindow: 2 * day)
        try store.read { database in
            var cache = LotEventCache()
            let kept = try database.lotBook(of: alice)
            #expect(kept == (try LotFold(reader: database).foldedLots(of: alice, cache: &cache)))
            #expect(kept.deficit == .zero && kept.summary(at: now).pending == .zero, "the 50 points earned repaid 50 of the 100 owed")
            #expect(try database.accountFacts(of: alice, at: now).debt == Points(50))
            #expect(try LedgerVerifier(reader: database).verify().isEmpty)
        }
    }
}
