import Dispatch
import Foundation
import PointMeshCore
import PointMeshStore
import Testing

private func scratchDirectory() -> String {
    NSTemporaryDirectory() + "pointmesh-store-test-\(UUID().uuidString)"
}


private func openStore(_ directory: String, nodeID: String? = "store-1") throws -> LedgerStore {
    try LedgerStore(directory: directory, nodeID: nodeID.map(NodeID.init(unchecked:)),
                    newNodeID: { NodeID(unchecked: "generated") }, clock: .frozen(at: 1_700_000_000_000))
}

private func purchase(_ receipt: String, account: String, fen: Int64) -> PreparedWrite {
    PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: receipt), account: AccountID(unchecked: account), amount: Fen(fen)))
}

@Suite struct LedgerStoreTests {
    /// A holdings report promises that every entry the node writes after it is stamped after
    /// its clock reading (`LedgerStore.tickClock`): so even after a restart with the wall clock
    /// stepped back, the next entry is stamped after the reading, not at the wall clock.
    @Test func anEntryWrittenAfterAClockReadingIsStampedAfterItAcrossARestart() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = try openStore(directory)
        _ = try before.write(purchase("R1", account: "amy", fen: 100))
        let (reading, vector) = try before.tickClock()
        #expect(vector[NodeID(unchecked: "store-1")] == 1)
        before.close()
        let stepped = try LedgerStore(directory: directory, nodeID: NodeID(unchecked: "store-1"), newNodeID: { NodeID(unchecked: "generated") },
                                      clock: .frozen(at: 1_600_000_000_000))
        defer { stepped.close() }
        guard case .created(let entry) = try stepped.write(purchase("R2", account: "amy", fen: 100)) else {
            Issue.record("R2 was not written")
            return
        }
        #expect(entry.timestamp > reading, "\(entry.timestamp) is not after the reading \(reading)")
    }

    @Test func concurrentWritesAllCommitWithGaplessSequencesAndMatchingCounters() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try openStore(directory)
        let writers = 16, perWriter = 25
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            for index in 0..<perWriter {
                _ = try? store.write(purchase("R-\(writer)-\(index)", account: "acct-\(index % 5)", fen: 1_000))
            }
        }
        let vector = try store.read { try $0.versionVector() }
        #expect(vector[NodeID(unchecked: "store-1")] == Int64(writers * perWriter))
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
        var total: Int64 = 0
        for account in 0..<5 {
            total += try store.read { try $0.accountState(of: AccountID(unchecked: "acct-\(account)"), at: 1_700_000_000_000) }.balance.value
        }
        #expect(total == Int64(writers * perWriter * 10))
        let (batches, writes) = store.commitStatistics
        #expect(writes == writers * perWriter)
        #expect(batches <= writes)
        store.close()
    }

    @Test func concurrentRedemptionsNeverOverspend() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try openStore(directory)
        _ = try store.write(purchase("R1", account: "alice", fen: 10_000))
        DispatchQueue.concurrentPerform(iterations: 30) { index in
            _ = try? store.write(PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(index)"), account: AccountID(unchecked: "alice"), points: Points(7))))
        }
        let balance = try store.read { try $0.accountState(of: AccountID(unchecked: "alice"), at: 1_700_000_000_000) }.balance.value
        #expect(balance == 100 - 14 * 7)
        store.close()
    }

    @Test func reopenedStoreKeepsEntriesAndContinuesTheSequence() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try openStore(directory)
            _ = try store.write(purchase("R1", account: "alice", fen: 500))
            _ = try store.write(purchase("R2", account: "alice", fen: 500))
            store.close()
        }
        let reopened = try openStore(directory, nodeID: nil)
        #expect(reopened.nodeID == NodeID(unchecked: "store-1"))
        let replay = try reopened.write(purchase("R1", account: "alice", fen: 500))
        #expect(replay == .replayed(replay.entry))
        let next = try reopened.write(purchase("R3", account: "alice", fen: 500))
        #expect(next.entry.id.sequence == 3)
        #expect(next.entry.timestamp > replay.entry.timestamp)
        reopened.close()
    }

    @Test func anotherNodeIDForTheSameDirectoryIsRefused() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try openStore(directory).close()
        #expect(throws: StoreError.self) { try openStore(directory, nodeID: "store-2") }
    }

    @Test func verifyReportsCountersThatDisagreeWithEntries() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try openStore(directory)
        _ = try store.write(purchase("R1", account: "alice", fen: 500))
        store.close()
        let database = try LedgerWriter.open(path: LedgerStore.databasePath(in: directory))
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
        try database.connection.execute("UPDATE balances SET credits_posted = credits_posted + 1 WHERE account GLOB '@issued:store-1:*'")
        let problems = try LedgerVerifier(reader: database.reader).verify()
        #expect(problems.contains { $0.description.contains("counter account=@issued:store-1:") }, "\(problems)")
        #expect(problems.contains { $0.description.contains("does not sum to zero") }, "\(problems)")
        try database.connection.execute("UPDATE balances SET credits_posted = credits_posted - 1 WHERE account GLOB '@issued:store-1:*'")
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
        // A customer's points are its lots: a lot that disagrees with the entries is found too.
        try database.connection.execute("UPDATE lots SET remaining = remaining + 1 WHERE account = 'alice'")
        let lotProblems = try LedgerVerifier(reader: database.reader).verify()
        #expect(lotProblems.contains { $0.description.contains("account alice") }, "\(lotProblems)")
        #expect(lotProblems.contains { $0.description.contains("does not sum to zero") }, "\(lotProblems)")
        try database.connection.execute("UPDATE lots SET remaining = remaining - 1 WHERE account = 'alice'")
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
        // Every entry in the feed once: a missing or repeated position is found.
        try database.connection.execute("UPDATE feed SET seq = 99")
        #expect(try LedgerVerifier(reader: database.reader).verify().contains { $0.description.contains("the feed lists 1 positions for 0 of the 1 entries") })
        try database.connection.execute("UPDATE feed SET seq = 1; INSERT INTO feed (origin, seq) VALUES ('store-1', 1)")
        #expect(try LedgerVerifier(reader: database.reader).verify().contains { $0.description.contains("the feed lists 2 positions for 1 of the 1 entries") })
        try database.connection.execute("DELETE FROM feed WHERE position = 2")
        #expect(try LedgerVerifier(reader: database.reader).verify().isEmpty)
        try database.connection.execute("UPDATE ledger_entries SET chain = zeroblob(32)")
        #expect(try LedgerVerifier(reader: database.reader).verify().contains { $0.description.contains("hash chain") })
        try database.connection.execute("UPDATE ledger_entries SET seq = 5")
        #expect(try LedgerVerifier(reader: database.reader).verify().contains { $0.description.contains("gaps") })
    }

    @Test func historyPagesNewestFirstWithoutRepeats() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try openStore(directory)
        for index in 1...7 { _ = try store.write(purchase("R\(index)", account: "alice", fen: 100)) }
        var seen: [Int64] = []
        var cursor: EntryCursor?
        while true {
            let page = try store.read { try $0.entries(of: AccountID(unchecked: "alice"), before: cursor, limit: 3) }
            seen += page.map(\.entry.id.sequence)
            guard page.count == 3, let last = page.last else { break }
            cursor = EntryCursor(token: EntryCursor(after: last.entry).token)
        }
        #expect(seen == [7, 6, 5, 4, 3, 2, 1])
        store.close()
    }
}

@Suite struct ReplicatedApplyTests {
    private func copy(_ receipt: String, origin: String, wall: Int64, fen: Int64 = 10_000) throws -> LedgerEntry {
        let node = NodeID(unchecked: origin)
        let decision = try LedgerRules.decide(purchase(receipt, account: "alice", fen: fen), from: MemoryLedger(origin: node),
                                              id: EntryID(origin: node, sequence: 1), timestamp: HLCTimestamp(wallMilliseconds: wall, logical: 0),
                                              context: RequestContext(node: node, now: wall))
        guard case .append(let entry) = decision else { throw StoreError.closed }
        return entry
    }

    /// Copies of one receipt from three stores, applied in every order: the same one counts,
    /// the account earns once, and the counters verify.
    @Test(arguments: [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    func duplicateCopiesCollapseWhateverTheOrder(order: [Int]) throws {
        let copies = [try copy("R1", origin: "s1", wall: 3_000), try copy("R1", origin: "s2", wall: 1_000), try copy("R1", origin: "s3", wall: 2_000)]
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try openStore(directory, nodeID: "observer")
        for index in order { #expect(try store.applyReceived([copies[index]]) == 1) }
        #expect(try store.applyReceived(copies) == 0)
        let alice = AccountID(unchecked: "alice")
        #expect(try store.read { try $0.accountState(of: alice, at: 10_000) }.balance.value == 100)
        #expect(try store.read { try $0.isDuplicate(copies[0].id) })
        #expect(try store.read { !(try $0.isDuplicate(copies[1].id)) })
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
        // A replay of the receipt on this node answers with the counting copy.
        #expect(try store.write(purchase("R1", account: "alice", fen: 10_000)) == .replayed(copies[1]))
        #expect(store.versionVector.entryCount == 3)
        store.close()
    }

    @Test func entriesAfterAGapAreNotStored() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try openStore(directory, nodeID: "observer")
        var second = try copy("R2", origin: "s1", wall: 1)
        second.id.sequence = 2
        #expect(try store.applyReceived([second]) == 0)
        #expect(try store.read { try LedgerVerifier(reader: $0).verify() }.isEmpty)
        store.close()
    }
}

@Suite struct PeerListTests {
    @Test func thePeerListSurvivesARestart() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let records = [MemberRecord(id: NodeID(unchecked: "a"), address: "127.0.0.1:1"),
                       MemberRecord(id: NodeID(unchecked: "b"), address: "127.0.0.1:2", retired: true)]
        do {
            let store = try openStore(directory)
            try store.savePeers(records)
            store.close()
        }
        let reopened = try openStore(directory)
        #expect(try reopened.read { try $0.peers() } == records)
        reopened.close()
    }
}

@Suite struct StatementCacheTests {
    /// The statement cache hashes a sample of each text's bytes: texts of one length that differ
    /// only where it doesn't sample share a bucket, and each must still get its own statement.
    @Test func textsThatSampleAlikeKeepTheirOwnStatements() throws {
        let connection = try SQLiteConnection(path: ":memory:", mode: .readWrite)
        defer { connection.close() }
        let texts = (0..<300).map { number in
            let digits = String(number)
            return "SELECT " + String(repeating: "0", count: 5 - digits.count) + digits + " + 0 AS value -- the same length"
        }
        #expect(Set(texts.map(\.utf8.count)).count == 1)
        for _ in 0..<2 {
            for (number, sql) in texts.enumerated() {
                #expect(try connection.first(sql) { $0.int64(0) } == Int64(number), "\(sql)")
            }
        }
    }
}
