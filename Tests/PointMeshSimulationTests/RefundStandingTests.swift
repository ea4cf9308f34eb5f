import Foundation
import PointMeshCore
import PointMeshSimulation
import PointMeshStore
import Testing

/// A refund can arrive at a store before the purchase it names (its origin held another store's
/// copy). The store then rings up an identical purchase itself: the refund now names that one,
/// and whether it stands must be decided again on the spot, on disk as in memory. The SQLite
/// simulation found the store keeping the refund's debit after such a purchase.
@Suite struct RefundStandingTests {
    private let amy = AccountID(unchecked: "amy")
    private let n1 = NodeID(unchecked: "n1"), n2 = NodeID(unchecked: "n2"), n3 = NodeID(unchecked: "n3")
    private var purchase: PreparedWrite {
        PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: amy, amount: Fen(10_000)))
    }

    @Test func aPurchaseRungUpAfterItsRefundArrivedDecidesTheRefundAgain() throws {
        // n3 knows a double-points campaign: its copy of R1 earns 200. n2 holds it and refunds R1 in full.
        var third = MemoryLedger(origin: n3), second = MemoryLedger(origin: n2)
        let double = Campaign(id: CampaignID(unchecked: "double"), name: "Double", startsAt: 0, endsAt: 10_000_000, stores: [], categories: [],
                              effect: .multiplier(2), green: false, backdateReason: "began before")
        _ = try third.write(PreparedWrite(CampaignDefinition.self, double), now: 1_000)
        _ = try third.write(purchase, now: 2_000)
        _ = second.apply(third.entries(of: n3, after: 0, limit: 10))
        let refund = try #require({ () -> LedgerEntry? in
            if case .append(let entry) = try second.write(PreparedWrite(Refund.self, Refund.Request(
                refund: RequestID(unchecked: "F1"), receipt: ReceiptID(unchecked: "R1"), amount: Fen(10_000))), now: 3_000) { return entry }
            return nil
        }())
        let directory = NSTemporaryDirectory() + "pointmesh-refund-standing-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteSimulatedLedger(origin: n1, directory: directory)
        var memory = MemoryLedger(origin: n1)
        // n1 hears n2's refund (n2's entries hold no purchase), then rings R1 up itself, knowing no campaign: 100 points.
        _ = try store.apply([refund])
        _ = memory.apply([refund])
        _ = try store.write(purchase, now: 4_000, settings: NodeSettings(), holdersAsked: nil, fate: .commits)
        _ = try memory.write(purchase, now: 4_000)
        #expect(try store.voidIDs() == [refund.id], "200 points reversed of a purchase that earned 100")
        #expect(memory.voids == [refund.id])
        #expect(try store.database.accountState(of: amy, at: 5_000) == AccountState(balance: Points(100), debt: .zero))
        #expect(memory.accountState(of: amy, at: 5_000) == AccountState(balance: Points(100), debt: .zero))
        #expect(try LedgerVerifier(reader: store.database.reader).verify().isEmpty)
        // n3's earlier copy arrives: it counts, n1's is a duplicate, and the refund of it stands.
        _ = try store.apply(third.entries(of: n3, after: 0, limit: 10))
        _ = memory.apply(third.entries(of: n3, after: 0, limit: 10))
        #expect(try store.voidIDs().isEmpty)
        #expect(memory.voids.isEmpty)
        #expect(try store.database.accountState(of: amy, at: 5_000) == AccountState(balance: .zero, debt: .zero))
        #expect(memory.accountState(of: amy, at: 5_000) == AccountState(balance: .zero, debt: .zero))
        #expect(try LedgerVerifier(reader: store.database.reader).verify().isEmpty)
    }
}
