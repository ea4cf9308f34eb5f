import Foundation
import PointMeshCore
import PointMeshStore
import Synchronization
import Testing

private func scratchDirectory() -> String {
    NSTemporaryDirectory() + "pointmesh-upgrade-test-\(UUID().uuidString)"
}

private func purchase(_ receipt: String, account: String, fen: Int64) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: account), amount: Fen(fen)))
}

/// The account's state at `instant`: by default early in 2027, when the fixture's lots (earned
/// in November 2026) are all spendable.
private func state(_ store: LedgerStore, _ account: String, at instant: Int64 = 1_800_000_000_000) throws -> AccountState {
    try store.read { try $0.accountState(of: AccountID(unchecked: account), at: instant) }
}

/// A copy of `Fixtures/<name>` opened as a node's ledger (its migrations run at `now`), with the
/// progress lines the upgrade logged. The caller closes the store and removes `directory`.
private func openFixture(_ name: String, now: Int64) throws -> (store: LedgerStore, lines: [String], directory: String) {
    let directory = scratchDirectory()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    try FileManager.default.copyItem(atPath: fixture.path, toPath: LedgerStore.databasePath(in: directory))
    let lines = Mutex<[String]>([])
    let store = try LedgerStore(directory: directory, nodeID: nil, newNodeID: { NodeID(unchecked: "x") }, clock: .frozen(at: now),
                                progress: { line in lines.withLock { $0.append(line) } })
    return (store, lines.withLock { $0 }, directory)
}

@Suite struct UpgradeTests {
    /// `Fixtures/release-0.2-ledger.sqlite` was written by release 0.2 (commit e0c8861): three
    /// stores, earnings with items, a redemption with a reward, refunds with and without debt,
    /// debt repaid, and one receipt rung up at two stores (a duplicate).
    @Test func aLedgerOfTheReleaseBeforeIsUpgradedInPlace() throws {
        let (store, lines, directory) = try openFixture("release-0.2-ledger.sqlite", now: 1_900_000_000_000)
        defer {
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(lines.contains { $0.contains("upgrading the ledger") && $0.contains("10 entries") })
        #expect(store.nodeID == NodeID(unchecked: "store-a"))
        #expect(store.versionVector == VersionVector([NodeID(unchecked: "store-a"): 5, NodeID(unchecked: "store-b"): 3, NodeID(unchecked: "store-c"): 2]))
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
        // The balances release 0.2 showed.
        #expect(try state(store, "alice") == AccountState(balance: Points(200), debt: .zero))
        #expect(try state(store, "bob") == AccountState(balance: Points(20), debt: .zero))
        #expect(try state(store, "carol") == AccountState(balance: Points(70), debt: .zero))
        #expect(try state(store, "dave") == AccountState(balance: Points(1_000), debt: .zero))
        #expect(try store.read { try $0.isDuplicate(EntryID(origin: NodeID(unchecked: "store-c"), sequence: 1)) })
        // Replays keep working across the upgrade: the request hashes are the same.
        let replay = try store.write(PreparedWrite(Earn.self, Earn.Request(
            receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "alice"), amount: Fen(12_345),
            items: [PurchaseItem(sku: SKU(unchecked: "tea"), category: CategoryID(unchecked: "organic-food"), amount: Fen(12_345))])))
        #expect(replay == .replayed(replay.entry) && replay.entry.id == EntryID(origin: NodeID(unchecked: "store-a"), sequence: 1))
        #expect(throws: LedgerError.idempotencyConflict(IdempotencyKey(scope: "receipt", id: "R1"))) {
            try store.write(purchase("R1", account: "alice", fen: 12_345))
        }
        // The refund of R2 remembers the 2,000 fen already refunded.
        #expect(throws: LedgerError.refundExceedsPurchase(receipt: ReceiptID(unchecked: "R2"), remaining: Fen(3_000))) {
            try store.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F9"), receipt: ReceiptID(unchecked: "R2"), amount: Fen(3_001))))
        }
        // History reads as before, newest first.
        let history = try store.read { try $0.entries(of: AccountID(unchecked: "alice"), before: nil, limit: 10) }
        #expect(history.map { EntryKinds.name(of: $0.entry.code) } == ["earn", "refund", "redeem", "earn"])
        // New writes continue the sequence.
        let next = try store.write(purchase("R9", account: "alice", fen: 1_000))
        #expect(next.entry.id.sequence == 6)
    }

    /// `Fixtures/release-0.6-clashes.sqlite` is node x1's data directory from release 0.6.0
    /// (commit 969d0a2) after reproduction 1 of "Two stores deciding at once": x1 and x2 decided
    /// apart, then met. Under one request id, Q-1, x1 redeemed 10 of w1's points and x2 700 of
    /// rich's; under one receipt id, D3, x1 earned w1 50 points and x2 w2 70. 0.6.0 kept x2's
    /// redemption and purchase as duplicates (rich back at 1,000, w2 at 0). Upgraded, each counts.
    /// `Fixtures/release-0.N-workload.sqlite` were written by the node of each release (0.3
    /// a72a076, 0.4 eebbf8b, 0.5 e8ec0ba, 0.6.0 81938fa), run on a fresh data directory through
    /// HTTP and stopped cleanly: purchases, redemptions, a full refund that made debt and a
    /// partial one; from 0.4 an expiry policy and a compensation; from 0.5 a family with
    /// transfers to a member and the pool, a freeze and a deduction, a green category, a
    /// campaign, a reward redeemed (`Fixtures/make-release-fixture.sh`). Each upgrades in place to what that release showed, verifies clean, replays
    /// its receipts and takes new writes. (0.4's customer points counters, which 0.5 stopped
    /// keeping, failed verify until migration `drop-customer-points-counters`.)
    @Test(arguments: ["0.3", "0.4", "0.5", "0.6"])
    func aDataDirectoryOfEachReleaseUpgradesInPlace(release: String) throws {
        let (store, _, directory) = try openFixture("release-\(release)-workload.sqlite", now: 1_800_000_000_000)
        defer {
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(store.nodeID == NodeID(unchecked: "old-\(release)"))
        let problems = try store.read { try LedgerVerifier(reader: $0).verify() }
        #expect(problems.isEmpty, "\(release): \(problems)")
        // What each release answered for these accounts (GET /v1/accounts/{id}) before it stopped.
        var expected: [(String, AccountState)] = [("alice", AccountState(balance: .zero, debt: Points(70))),
                                                  ("bob", AccountState(balance: Points(20), debt: .zero))]
        let families = release == "0.5" || release == "0.6"
        if families {
            expected += [("carol", AccountState(balance: Points(70), debt: .zero)), ("dan", AccountState(balance: Points(7), debt: .zero)),
                         ("family:lee", AccountState(balance: Points(20), debt: .zero))]
            #expect(try store.read { try AccountHold.of(AccountID(unchecked: "dan"), from: $0) }.frozen)
            #expect(try store.read { try FamilyMembership.members(of: FamilyID(unchecked: "lee"), from: $0) } == ["carol", "dan"].map(AccountID.init(unchecked:)))
            #expect(try store.read { try $0.lotBook(of: AccountID(unchecked: "carol")).summary(at: 1_800_000_000_000).green } == Points(30))
        }
        for (account, answered) in expected {
            #expect(try state(store, account) == answered, "\(release): \(account)")
        }
        let replay = try store.write(purchase("R2", account: "bob", fen: 5_000))
        #expect(replay == .replayed(replay.entry) && replay.entry.id == EntryID(origin: NodeID(unchecked: "old-\(release)"), sequence: 2))
        // A new purchase repays alice's debt first (it earns double under the campaign of 0.5 and 0.6).
        _ = try store.write(purchase("N1", account: "alice", fen: 10_000))
        let alice = try state(store, "alice")
        #expect(alice == AccountState(balance: Points(families ? 130 : 30), debt: .zero), "\(release): \(alice)")
        let after = try store.read { try LedgerVerifier(reader: $0).verify() }
        #expect(after.isEmpty, "\(release): \(after)")
    }

    @Test func aLedgerWithClashingIDsOfRelease06CountsEachWrite() throws {
        let (store, lines, directory) = try openFixture("release-0.6-clashes.sqlite", now: 1_800_000_000_000)
        defer {
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(store.nodeID == NodeID(unchecked: "x1"))
        #expect(lines.contains { $0.contains("2 entries kept as duplicates of a different request now count") }, "\(lines)")
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
        #expect(try state(store, "rich") == AccountState(balance: Points(300), debt: .zero))
        #expect(try state(store, "w1") == AccountState(balance: Points(90), debt: .zero))
        #expect(try state(store, "w2") == AccountState(balance: Points(70), debt: .zero))
        for sequence in 1...3 as ClosedRange<Int64> {
            #expect(try !store.read { try $0.isDuplicate(EntryID(origin: NodeID(unchecked: "x2"), sequence: sequence)) })
        }
        // Each till's retry replays its own write; a refund at x1 takes x1's purchase D3.
        let retry = try store.write(PreparedWrite(Redemption.self, Redemption.Request(
            request: RequestID(unchecked: "Q-1"), account: AccountID(unchecked: "rich"), points: Points(700))))
        #expect(retry.entry.id == EntryID(origin: NodeID(unchecked: "x2"), sequence: 2))
        let refund = try store.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "DR1"), receipt: ReceiptID(unchecked: "D3"), amount: Fen(5_000))))
        #expect(refund.entry.moves.first?.debit == LedgerAccount(AccountID(unchecked: "w1")))
    }

    /// `Fixtures/release-0.6-refunds.sqlite` is node x1's data directory from release 0.6.0 after
    /// reproduction 2 of "Two stores deciding at once": cleo earned 100 points on S1 (10,000
    /// fen); cut apart, x1 refunded 8,000 fen (RA) and x2 8,000 fen (RB). 0.6.0 shows cleo at
    /// −60 with no debt. Upgraded, RB (later in ledger order, past the purchase) is void.
    @Test func overRefundsOfRelease06AreVoided() throws {
        let (store, lines, directory) = try openFixture("release-0.6-refunds.sqlite", now: 1_800_000_000_000)
        defer {
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(lines.contains { $0.contains("refunds past their purchase") }, "\(lines)")
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
        #expect(try store.read { try $0.voidEntries() } == [EntryID(origin: NodeID(unchecked: "x2"), sequence: 1)])
        #expect(try state(store, "cleo") == AccountState(balance: Points(20), debt: .zero))
        // 8,000 of 10,000 fen stand refunded: 2,001 more is refused, 2,000 reverses the last 20.
        #expect(throws: LedgerError.refundExceedsPurchase(receipt: ReceiptID(unchecked: "S1"), remaining: Fen(2_000))) {
            try store.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "RC"), receipt: ReceiptID(unchecked: "S1"), amount: Fen(2_001))))
        }
        _ = try store.write(PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "RD"), receipt: ReceiptID(unchecked: "S1"), amount: Fen(2_000))))
        #expect(try state(store, "cleo") == AccountState(balance: .zero, debt: .zero))
    }

    /// The store keeps an entry of a kind it does not know: counts its moves, serves it byte for
    /// byte, and shows it in history under its code.
    @Test func theStoreKeepsAndServesAnUnknownKindByteForByte() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LedgerStore(directory: directory, nodeID: NodeID(unchecked: "old"), newNodeID: { NodeID(unchecked: "old") }, clock: .frozen(at: 1))
        defer { store.close() }
        var details = DetailsWriter()
        details.number(41, 7)
        let future = LedgerEntry(
            id: EntryID(origin: NodeID(unchecked: "new"), sequence: 1), timestamp: HLCTimestamp(wallMilliseconds: 5, logical: 0),
            code: EntryCode(99), idempotencyKey: IdempotencyKey(scope: "stamp-card", id: "S1"), requestHash: RequestHash(canonical: "s"),
            moves: [Move(debit: LedgerAccount(unchecked: "@stamp-cards:new"), credit: LedgerAccount(AccountID(unchecked: "alice")), amount: Points(25))],
            details: details.details, flags: 1, trailing: [9, 9])
        var next = future
        next.id.sequence = 2
        next.code = Earn.code
        next.idempotencyKey = IdempotencyKey(scope: "receipt", id: "R2")
        next.moves = Earn.moves(customer: AccountID(unchecked: "alice"), earned: Points(5), repaid: .zero, store: NodeID(unchecked: "new"))
        next.details = Earn.details(receipt: ReceiptID(unchecked: "R2"), amount: Fen(500), items: [], balanceAfter: Points(30))
        next.trailing = []
        #expect(try store.applyReceived([future, next]) == 2)
        #expect(try state(store, "alice", at: 10).balance == Points(30))
        let served = try store.read { try $0.entries(of: NodeID(unchecked: "new"), after: 0, limit: 10) }
        #expect(served.map(EntryCoding.encode) == [future, next].map(EntryCoding.encode))
        let history = try store.read { try $0.entries(of: AccountID(unchecked: "alice"), before: nil, limit: 10) }
        #expect(history.map { EntryKinds.name(of: $0.entry.code) } == ["earn", "unknown-99"])
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
    }

    /// `pointmesh verify` opens read-only and writes nothing, so it can't read a release's
    /// database before a node's start upgraded it: it says so (it once failed on a missing
    /// table with an SQLite error) and leaves the file as it was.
    @Test func aReadOnlyOpenOfAnOlderReleasesDatabaseIsRefusedAndChangesNothing() throws {
        let directory = scratchDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/release-0.6-workload.sqlite")
        let path = LedgerStore.databasePath(in: directory)
        try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            _ = try LedgerReader.open(path: path)
        } throws: { error in
            guard case StoreError.schemaTooOld(let found, let known)? = error as? StoreError else { return false }
            return found < known && "\(error)".contains("start `pointmesh serve` on it once")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // Once a node has started on it, it opens.
        let store = try LedgerStore(directory: directory, nodeID: nil, newNodeID: { NodeID(unchecked: "x") }, clock: .frozen(at: 1_800_000_000_000))
        store.close()
        let reader = try LedgerReader.open(path: path)
        defer { reader.connection.close() }
        #expect(try LedgerVerifier(reader: reader).verify().isEmpty)
    }
}
