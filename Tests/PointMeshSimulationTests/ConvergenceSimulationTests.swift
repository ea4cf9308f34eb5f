import Foundation
import PointMeshCore
import PointMeshSimulation
import Testing

/// Seeds to run: `POINTMESH_SIM_SEED=123 swift test --filter ConvergenceSimulation` replays one.
private let seeds: [UInt64] = {
    if let text = ProcessInfo.processInfo.environment["POINTMESH_SIM_SEED"], let seed = UInt64(text) { return [seed] }
    return Array(0..<500)
}()

/// The same receipts, accounts and amounts are drawn by every node, so a receipt is often rung up
/// at two nodes while they are cut off from each other: the case duplicates must collapse.
private struct Workload {
    var random: SplitMix64
    let nodes: Int

    mutating func command() -> WriteCommand {
        let account = AccountID(unchecked: "acct-\(random.next() % 6)")
        switch random.next() % 10 {
        case 0..<6:
            let receipt = random.next() % 40
            // A receipt's account and amount are a function of its id, so two stores ringing up
            // the same receipt send the same body.
            return .purchase(PurchaseRequest(receipt: ReceiptID(unchecked: "R\(receipt)"),
                                             account: AccountID(unchecked: "acct-\(receipt % 6)"), amount: Fen(Int64(100 + receipt * 137))))
        case 6..<8:
            return .redemption(RedemptionRequest(request: RequestID(unchecked: "Q\(random.next() % 1_000)"), account: account,
                                                 points: Points(Int64(1 + random.next() % 20))))
        default:
            let receipt = random.next() % 40
            return .refund(RefundRequest(refund: RequestID(unchecked: "F\(random.next() % 200)"), receipt: ReceiptID(unchecked: "R\(receipt)"),
                                         amount: Fen(Int64(1 + random.next() % 300))))
        }
    }
}

@Suite struct ConvergenceSimulation {
    @Test(arguments: seeds)
    func nodesConvergeAfterFaultsHeal(seed: UInt64) {
        let nodeCount = 3 + Int(seed % 3)
        var cluster = SimulatedCluster(count: nodeCount, seed: seed)
        var workload = Workload(random: SplitMix64(seed: seed ^ 0xfeed), nodes: nodeCount)
        var acknowledged: [LedgerEntry] = []

        // 30 simulated seconds of writes under loss, duplication, reordering, partitions and crashes.
        for step in 1...150 {
            cluster.run(until: Int64(step) * 200)
            let node = Int(workload.random.next() % UInt64(nodeCount))
            if case .append(let entry) = cluster.write(workload.command(), at: node) {
                acknowledged.append(entry)
            }
        }
        cluster.heal()
        var healedAt: Int64?
        for second in 1...90 {
            cluster.run(until: 30_000 + Int64(second) * 1_000)
            if cluster.converged {
                healedAt = Int64(second)
                break
            }
        }
        #expect(healedAt != nil, "seed \(seed): no convergence within 90 s of healing")
        guard healedAt != nil else { return }

        let reference = cluster.nodes[0].ledger
        let accounts = Set(reference.allEntries.map(\.account))
        for node in cluster.nodes {
            let ledger = node.ledger
            #expect(ledger.versionVector().digest == reference.versionVector().digest, "seed \(seed): digests differ")
            #expect(ledger.duplicates == reference.duplicates, "seed \(seed): \(node.id) disagrees on duplicates")
            for account in accounts {
                #expect(ledger.accountState(of: account) == reference.accountState(of: account), "seed \(seed): \(node.id) balance of \(account)")
            }
            // No acknowledged entry is lost.
            for entry in acknowledged {
                let held = ledger.entries(of: entry.id.origin, after: entry.id.sequence - 1, limit: 1).first
                #expect(held == entry, "seed \(seed): \(node.id) lost acknowledged \(entry.id)")
            }
            // Every write counts once: exactly one non-duplicate entry per key, the same everywhere.
            var counting: [IdempotencyKey: Int] = [:]
            for entry in ledger.allEntries where !ledger.duplicates.contains(entry.id) {
                counting[entry.idempotencyKey, default: 0] += 1
            }
            #expect(counting.values.allSatisfy { $0 == 1 }, "seed \(seed): a write counts more than once on \(node.id)")
            for key in counting.keys {
                #expect(ledger.countingEntry(for: key) == reference.countingEntry(for: key), "seed \(seed): \(key) resolves differently")
            }
            // Counters equal a recomputation from the counting entries.
            var recomputed: [AccountID: AccountCounters] = [:]
            for entry in ledger.allEntries where !ledger.duplicates.contains(entry.id) {
                recomputed[entry.account, default: AccountCounters()].apply(entry)
            }
            for account in accounts {
                #expect((recomputed[account] ?? AccountCounters()).state == ledger.accountState(of: account), "seed \(seed): counters drift")
            }
        }
    }

    @Test func aSeedReplaysExactly() {
        func run() -> (String, Int) {
            var cluster = SimulatedCluster(count: 4, seed: 42)
            var workload = Workload(random: SplitMix64(seed: 7), nodes: 4)
            for step in 1...50 {
                cluster.run(until: Int64(step) * 200)
                _ = cluster.write(workload.command(), at: Int(workload.random.next() % 4))
            }
            return (cluster.nodes.map { $0.ledger.versionVector().digest }.joined(), cluster.bytesSent)
        }
        #expect(run() == run())
    }
}
