import Foundation
import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
@testable import PointMeshStore
import Testing

/// Seeds of the spending-rights simulation: 60 in `swift test` (40 of the chain budget's),
/// `POINTMESH_RIGHTS_SEEDS=N` for the long run (docs/design.md, "The simulation").
private let rightsSeeds: [UInt64] = {
    if let text = ProcessInfo.processInfo.environment["POINTMESH_RIGHTS_SEEDS"], let count = UInt64(text) { return Array(0..<count) }
    return Array(0..<60)
}()

private let accounts = (0..<4).map { AccountID(unchecked: "c\($0)") }

/// What one run under spending rights did.
private struct RightsRun {
    var redeemed = 0, refusedOffline = 0, refusedShort = 0, refundsAfterAsking = 0, overdrafts = 0
}

/// Customers earning and redeeming at random stores of a cluster deciding under spending
/// rights, with loss, duplication, reordering, partitions, crashes (mid-commit too), restarts
/// and clock jumps; a till that is refused for want of rights has its node ask the holders,
/// and a look-up asks ahead. Then the faults heal and the cluster converges.
private func simulateUnderRights<Ledger: SimulatedLedger>(seed: UInt64, _ cluster: inout SimulatedCluster<Ledger>,
                                                          allowance: Points = .zero) throws -> RightsRun {
    var random = SplitMix64(seed: seed ^ 0x51ab)
    var run = RightsRun()
    cluster.spendingRights = true
    cluster.offlineAllowance = allowance
    for step in 1...240 {
        cluster.run(until: Int64(step) * 100)
        let node = Int(random.next() % UInt64(cluster.nodes.count))
        let account = accounts[Int(random.next() % UInt64(accounts.count))]
        let command: PreparedWrite
        switch random.next() % 10 {
        case 0...3:
            command = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R\(step)"), account: account,
                                                            amount: Fen(Int64(100 + random.next() % 5_000))))
        case 4:
            cluster.askForRights(of: account, at: node)
            continue
        case 5:
            command = PreparedWrite(Refund.self, Refund.Request(refund: RequestID(unchecked: "F\(step)"), receipt: ReceiptID(unchecked: "R\(random.next() % UInt64(step))"),
                                                                amount: Fen(Int64(1 + random.next() % 3_000))))
        default:
            command = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "Q\(step)"), account: account,
                                                                        points: Points(Int64(1 + random.next() % 60))))
        }
        do {
            if case .append(let entry)? = try cluster.write(command, at: node), entry.code == Redemption.code { run.redeemed += 1 }
        } catch LedgerError.insufficientPointsOffline {
            run.refusedOffline += 1
            // As the node does: it asked the holders; after its wait it decides with what it
            // holds (a refund's rest as debt, a redemption within the offline allowance).
            cluster.run(until: cluster.now + 50)
            do {
                if case .append(let entry)? = try cluster.write(command, at: node, afterAsking: true) {
                    if entry.code == Refund.code { run.refundsAfterAsking += 1 } else { run.redeemed += 1 }
                    if try Redemption.overdraft(of: entry) > .zero { run.overdrafts += 1 }
                }
            } catch let refusal as LedgerError where expectedAfterAsking(refusal, of: command) {
                continue
            } catch is CommitInterrupted {
                continue
            } catch {
                Issue.record("seed \(seed): \(cluster.nodes[node].id) refused \(command.kind.name) \(command.key) after asking the holders: \(error)")
            }
        } catch LedgerError.insufficientPoints {
            run.refusedShort += 1
        } catch is CommitInterrupted {
            continue
        } catch let refusal as LedgerError where command.kind.code == Refund.code && isRefundRefusal(refusal) {
            continue
        } catch {
            Issue.record("seed \(seed): \(cluster.nodes[node].id) refused \(command.kind.name) \(command.key): \(error)")
        }
    }
    healAndConverge(&cluster)
    return run
}

/// A refund the rules refuse in this workload: its receipt is one this node holds no purchase
/// of (never rung up: earnings are drawn at 4 steps in 10; or rung up where this node has not
/// heard of it), or past what is left of the purchase (docs/rules.md, section 4).
private func isRefundRefusal(_ refusal: LedgerError) -> Bool {
    switch refusal {
    case .receiptNotFound, .refundExceedsPurchase: true
    default: false
    }
}

/// What a debit refused for want of rights may be refused with once its node asked the holders
/// and waited (docs/rules.md, section 15): a redemption still short of rights (the holders did not
/// grant in time; an allowance, if any, used up), or beyond the balance, which fell meanwhile (the
/// account's spending elsewhere arrived); a refund never waits for rights (the rest is debt), but
/// its receipt may meanwhile have been refunded elsewhere past what this one leaves.
private func expectedAfterAsking(_ refusal: LedgerError, of command: PreparedWrite) -> Bool {
    switch refusal {
    case .insufficientPointsOffline, .insufficientPoints: command.kind.code == Redemption.code
    case .refundExceedsPurchase: command.kind.code == Refund.code
    default: false
    }
}

/// Heals every fault and runs until the cluster converges (a minute at most).
private func healAndConverge<Ledger: SimulatedLedger>(_ cluster: inout SimulatedCluster<Ledger>) {
    cluster.heal()
    var waited: Int64 = 0
    while !cluster.converged, waited < 60_000 {
        waited += 1_000
        cluster.run(until: cluster.now + 1_000)
    }
}

/// The invariants of spending rights on every node's converged ledger: no balance below zero
/// but by an overdraft within the allowance of each node that overspent (allowance 0: no lot
/// deficit at all), the rights held summing to the spendable balance plus the overdraft, every
/// point in exactly one lot, and every node agreeing on who holds what.
private func checkRights<Ledger: SimulatedLedger>(_ cluster: SimulatedCluster<Ledger>, seed: UInt64, allowance: Points = .zero) throws {
    #expect(cluster.converged, "seed \(seed): the cluster did not converge")
    #expect(cluster.failures.isEmpty, "seed \(seed): \(cluster.failures)")
    let instant = cluster.ledgerTime(at: 0)
    for account in accounts {
        let reference = try cluster.nodes[0].ledger.lotBook(of: account)
        for node in cluster.nodes {
            let book = try node.ledger.lotBook(of: account)
            #expect(book == reference, "seed \(seed): \(node.id) holds other lots of \(account)")
            let overspenders = Set(try node.ledger.allEntries().filter { try $0.customerAccounts.contains(account) && Redemption.overdraft(of: $0) > .zero }
                .map(\.id.origin))
            #expect(book.deficit.value <= allowance.value * Int64(overspenders.count),
                    "seed \(seed): \(account) overdrawn by \(book.deficit) on \(node.id), \(overspenders.count) nodes overspent \(allowance) each at most")
            #expect(book.rightsByHolder(at: instant).values.reduce(.zero, +) == book.summary(at: instant).spendable + book.deficit)
            let moveNothing = try node.ledger.voidIDs().union(try node.ledger.duplicateIDs())
            let change = try node.ledger.allEntries().filter { $0.customerAccounts.contains(account) && !moveNothing.contains($0.id) }
                .reduce(Points.zero) { $0 + MoveEffects.change(of: $1.moves, for: LedgerAccount(account)).points }
            #expect(book.lots.reduce(Points.zero) { $0 + $1.remaining } - book.deficit == change, "seed \(seed): \(account)'s lots hold other than its entries moved")
        }
    }
}

@Suite struct SpendingRightsSimulation {
    /// Under arbitrary partition schedules, crashes and message loss, for every account: no
    /// balance ever goes below zero except by refund debt (no deficit at all here), the rights
    /// held always sum to the spendable balance, crashes lose and duplicate no rights, and once
    /// the network is whole a redemption the balance covers is served after one wait for the
    /// holders (as the node's till call waits up to 500 ms).
    @Test(arguments: rightsSeeds)
    func cutOffStoresNeverSpendThePointsTwice(seed: UInt64) throws {
        var cluster = SimulatedCluster(count: 3 + Int(seed % 3), seed: seed, fullMembership: true)
        let run = try simulateUnderRights(seed: seed, &cluster)
        try checkRights(cluster, seed: seed)
        #expect(run.redeemed > 0)
        // Whole again: each account's whole balance, spent at a node that may hold none of it.
        for (index, account) in accounts.enumerated() {
            let node = (index + Int(seed)) % cluster.nodes.count
            let balance = cluster.nodes[node].ledger.accountState(of: account, at: cluster.ledgerTime(at: node)).balance
            guard balance > .zero else { continue }
            let redeem = PreparedWrite(Redemption.self, Redemption.Request(request: RequestID(unchecked: "whole-\(index)"), account: account, points: balance))
            // As the node's till call does: ask, wait, look again every 50 ms (asking whoever
            // holds the rights by then), for at most 500 ms.
            var served = false, waited: Int64 = 0
            while !served, waited <= 500 {
                do {
                    _ = try cluster.write(redeem, at: node)
                    served = true
                } catch LedgerError.insufficientPointsOffline {
                    waited += 50
                    cluster.run(until: cluster.now + 50)
                }
            }
            #expect(served, "seed \(seed): \(account)'s \(balance) points refused at \(cluster.nodes[node].id) with the cluster whole")
        }
    }

    /// With an offline allowance of 20, the total overdraft of an account is at most 20 times
    /// the number of nodes that overspent it, and the other invariants hold.
    @Test(arguments: Array(rightsSeeds.prefix(30)))
    func anOfflineAllowanceBoundsTheOverdraft(seed: UInt64) throws {
        var cluster = SimulatedCluster(count: 3 + Int(seed % 3), seed: seed, fullMembership: true)
        _ = try simulateUnderRights(seed: seed, &cluster, allowance: Points(20))
        try checkRights(cluster, seed: seed, allowance: Points(20))
    }

    /// Across the seeds the runs refuse for want of rights, grant them and redeem with them.
    @Test func theWorkloadAsksGrantsAndRefuses() throws {
        var offline = 0, asked = 0, granted = 0, redeemed = 0, refundsAfterAsking = 0, overdrafts = 0
        for seed in 0..<12 as Range<UInt64> {
            var cluster = SimulatedCluster(count: 4, seed: seed, fullMembership: true)
            let run = try simulateUnderRights(seed: seed, &cluster, allowance: seed % 2 == 0 ? .zero : Points(20))
            overdrafts += run.overdrafts
            offline += run.refusedOffline
            refundsAfterAsking += run.refundsAfterAsking
            redeemed += run.redeemed
            asked += cluster.rightsAsked
            granted += cluster.nodes[0].ledger.allEntries.filter { $0.code == RightsGrant.code }.count
        }
        #expect(offline > 20 && asked > 50 && granted > 30 && redeemed > 100 && refundsAfterAsking > 5 && overdrafts > 5,
                "refused offline \(offline), asked \(asked), grants \(granted), redeemed \(redeemed), refunds decided after asking \(refundsAfterAsking), overdrafts \(overdrafts)")
    }

    /// The same over the real SQLite store, where a grant is a row update in the write
    /// transaction and a crash mid-commit rolls it back.
    @Test(arguments: Array(rightsSeeds.prefix(8)))
    func onSQLiteTooNoPointIsSpentTwice(seed: UInt64) throws {
        let directory = NSTemporaryDirectory() + "pointmesh-rights-sim-\(seed)-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var cluster = try SimulatedCluster(count: 3 + Int(seed % 2), seed: seed, fullMembership: true) { id in
            try SQLiteSimulatedLedger(origin: id, directory: directory + "/" + id.rawValue)
        }
        _ = try simulateUnderRights(seed: seed, &cluster)
        try checkRights(cluster, seed: seed)
        for node in cluster.nodes {
            #expect(try LedgerVerifier(reader: node.ledger.database.reader).verify().isEmpty, "seed \(seed): \(node.id) fails verify")
        }
    }
}

/// What one run under a chain budget did.
private struct BudgetRun {
    var months: [CalendarMonth] = []
    var issued = 0, overridden = 0, refused = 0, servedAfterAsking = 0
}

/// The chain budget a run sets, per month.
private let chainBudget = Points(3_000)

/// Customers earning at random stores of a cluster whose chain budget (set at node 0, HQ) is
/// held as rights to issue, under loss, duplication, reordering, partitions, crashes and
/// clock jumps; one earning in ten carries an override. An earning refused for want of rights
/// has its node ask the holders and, 50 ms later, try once more (as the till's one call
/// does). Then the faults heal and the cluster converges.
private func simulateUnderTheChainBudget<Ledger: SimulatedLedger>(seed: UInt64, _ cluster: inout SimulatedCluster<Ledger>) throws -> BudgetRun {
    var random = SplitMix64(seed: seed ^ 0xb0d6)
    var run = BudgetRun()
    cluster.spendingRights = true
    // Mid-month: skews and jumps (two minutes at most) keep every node in it.
    cluster.ledgerEpoch = 1_796_000_000_000
    run.months = Array(Set((0..<cluster.nodes.count).map { CalendarMonth(containing: cluster.ledgerTime(at: $0)) })).sorted()
    // A budget binds a store from when the store holds it, so HQ sets a month's ahead of it:
    // written and spread before the faults start, the earnings after.
    cluster.faulty = false
    for month in run.months {
        _ = try cluster.write(PreparedWrite(BudgetDefinition.self, BudgetDefinition.Request(month: month, scope: .chain, points: chainBudget)), at: 0)
    }
    while try cluster.nodes.contains(where: { node in try run.months.contains { try node.ledger.catalog().chainBudget(in: $0) == nil } }) {
        guard cluster.now < 60_000 else { throw CancellationError() }
        cluster.run(until: cluster.now + 100)
    }
    cluster.faulty = true
    let start = cluster.now
    for step in 1...240 {
        cluster.run(until: start + Int64(step) * 100)
        let node = 1 + Int(random.next() % UInt64(cluster.nodes.count - 1))
        let override = random.next() % 10 == 0 ? "step \(step)" : nil
        let earn = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R\(step)"), account: accounts[Int(random.next() % UInt64(accounts.count))],
                                                         amount: Fen(Int64(100 + random.next() % 8_000)), budgetOverride: override))
        do {
            if try cluster.write(earn, at: node) != nil { override == nil ? (run.issued += 1) : (run.overridden += 1) }
        } catch LedgerError.budgetExhausted {
            // Asked the holders; 50 ms later, once more: served, still short, or not committed.
            cluster.run(until: cluster.now + 50)
            do {
                if try cluster.write(earn, at: node) != nil { run.servedAfterAsking += 1 } else { run.refused += 1 }
            } catch LedgerError.budgetExhausted {
                run.refused += 1
            } catch is CommitInterrupted {
                run.refused += 1
            }
        } catch is CommitInterrupted {
            continue
        }
    }
    healAndConverge(&cluster)
    return run
}

/// The points `entry` issued (its moves out of its store's issuance counter) and whether it
/// carried a budget override.
private func issuance(of entry: LedgerEntry, in month: CalendarMonth) throws -> (points: Points, overridden: Bool) {
    let counter = LedgerAccount.issued(by: entry.id.origin, in: month)
    let points = entry.moves.filter { $0.debit == counter }.reduce(Points.zero) { $0 + $1.amount }
    let overridden = entry.code == Earn.code ? try Earn.historyFields(entry)["budget_override"] != nil : false
    return (points, overridden)
}

extension SpendingRightsSimulation {
    /// Under arbitrary partition schedules, crashes and message loss: on every converged node,
    /// the points issued in a month without an override never exceed the chain budget, the
    /// rights to issue the nodes hold sum to the budget less everything issued, and every node
    /// agrees on every node's counters.
    @Test(arguments: rightsSeeds.count > 60 ? rightsSeeds : Array(rightsSeeds.prefix(40)))
    func theChainBudgetIsNeverExceededWithoutARecordedOverride(seed: UInt64) throws {
        var cluster = SimulatedCluster(count: 3 + Int(seed % 3), seed: seed, fullMembership: true)
        let run = try simulateUnderTheChainBudget(seed: seed, &cluster)
        try checkChainBudget(cluster, run: run, seed: seed)
    }

    /// The same over the real SQLite store (its counters are summed by SQL, not in memory).
    @Test(arguments: Array(rightsSeeds.prefix(6)))
    func onSQLiteTooTheChainBudgetHolds(seed: UInt64) throws {
        let directory = NSTemporaryDirectory() + "pointmesh-budget-sim-\(seed)-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var cluster = try SimulatedCluster(count: 3 + Int(seed % 2), seed: seed, fullMembership: true) { id in
            try SQLiteSimulatedLedger(origin: id, directory: directory + "/" + id.rawValue)
        }
        let run = try simulateUnderTheChainBudget(seed: seed, &cluster)
        try checkChainBudget(cluster, run: run, seed: seed)
    }

    /// Across the seeds the budget runs out, stores ask for rights and are served after
    /// asking, and overrides go through.
    @Test func theBudgetWorkloadRunsOutAsksAndOverrides() throws {
        var total = BudgetRun(), grants = 0
        for seed in 0..<8 as Range<UInt64> {
            var cluster = SimulatedCluster(count: 4, seed: seed, fullMembership: true)
            let run = try simulateUnderTheChainBudget(seed: seed, &cluster)
            total.issued += run.issued
            total.overridden += run.overridden
            total.refused += run.refused
            total.servedAfterAsking += run.servedAfterAsking
            grants += cluster.nodes[0].ledger.allEntries.filter { $0.code == IssuanceGrant.code }.count
        }
        #expect(total.issued > 300 && total.overridden > 50 && total.refused > 50 && total.servedAfterAsking > 10 && grants > 30,
                "issued \(total.issued), overridden \(total.overridden), refused \(total.refused), served after asking \(total.servedAfterAsking), grants \(grants)")
    }
}

private func checkChainBudget<Ledger: SimulatedLedger>(_ cluster: SimulatedCluster<Ledger>, run: BudgetRun, seed: UInt64) throws {
    #expect(cluster.converged, "seed \(seed): the cluster did not converge")
    #expect(cluster.failures.isEmpty, "seed \(seed): \(cluster.failures)")
    for month in run.months {
        let reference = try cluster.nodes[0].ledger.monthlyCounters(in: month)
        for node in cluster.nodes {
            #expect(try node.ledger.monthlyCounters(in: month) == reference, "seed \(seed): \(node.id) counts \(month) otherwise")
            let moveNothing = try node.ledger.voidIDs().union(try node.ledger.duplicateIDs())
            var withoutOverride = Points.zero, all = Points.zero
            for entry in try node.ledger.allEntries() where !moveNothing.contains(entry.id) {
                let (points, overridden) = try issuance(of: entry, in: month)
                all += points
                if !overridden { withoutOverride += points }
            }
            #expect(withoutOverride <= chainBudget, "seed \(seed): \(node.id) shows \(withoutOverride) issued in \(month) without an override, past \(chainBudget)")
            #expect(all == reference.issued.values.reduce(.zero, +), "seed \(seed): the counters are not the entries' sum")
            let rights = try #require(try node.ledger.rightsToIssue(in: month))
            #expect(rights.holdings.values.reduce(.zero, +) == chainBudget - all, "seed \(seed): rights to issue lost or made on \(node.id)")
        }
    }
}
