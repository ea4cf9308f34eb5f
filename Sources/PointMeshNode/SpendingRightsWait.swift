import Dispatch
import Foundation
import PointMeshCore
import PointMeshReplication
import PointMeshStore
import Synchronization

/// The node's side of spending rights beyond the gossip exchange (docs/rules.md, "Spending
/// rights"): asking the holders of an account's rights ahead of need when the account is used
/// here (a look-up at the till, a purchase), and, when a debit finds too few rights here,
/// asking and waiting (at most `timeoutMilliseconds`) until the grants arrive, so the till sees
/// one call. The same for rights to issue under the chain budget (`RightsToIssue`): asked for
/// ahead when this node runs low, and waited for when an earning finds too few. It reads the
/// store and asks through gossip; the rules stay in the core.
final class SpendingRightsWait: Sendable {
    private let store: LedgerStore
    private let gossip: GossipService
    private let clock: NodeClock
    let timeoutMilliseconds: Int64
    /// Accounts used here whose holders were asked ahead; waits that ended with the rights
    /// here and those that ran out of time.
    let askedAhead = Atomic<Int>(0), waitsServed = Atomic<Int>(0), waitsTimedOut = Atomic<Int>(0)
    /// Debits refused for want of rights after the wait (409 `insufficient_points_offline`), and
    /// redemptions that overspent under the offline allowance, with the points they overspent.
    let refusals = Atomic<Int>(0), overdrafts = Atomic<Int>(0), overdraftPoints = Atomic<Int>(0)
    /// Nanoseconds spent waiting, summed over every wait.
    let waitedNanoseconds = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "pointmesh.rights", attributes: .concurrent)
    /// When each account used here was last looked at for holders elsewhere (monotonic ms): a
    /// customer buying again within `askAheadEveryMilliseconds`, whose rights this node has not
    /// granted away since, is not looked at again (the look costs a read per purchase: a busy
    /// node took a fifth fewer writes).
    private let lookedAt = Mutex<[AccountID: Int64]>([:])
    static let askAheadEveryMilliseconds: Int64 = 10_000
    /// When this node last looked at its rights to issue after an earning (monotonic ms).
    private let issuingLookedAt = Mutex<Int64?>(nil)
    static let askToIssueEveryMilliseconds: Int64 = 1_000
    /// How often a wait looks again for whom to ask (the rights may have moved on meanwhile).
    static let askEveryMilliseconds: Int64 = 50

    /// The offline allowance: per account, the node's cap, and how long after the last contact
    /// with the cluster it holds.
    let allowance: (perAccount: Points, cap: Points, hours: Int64)

    init(store: LedgerStore, gossip: GossipService, clock: NodeClock, timeoutMilliseconds: Int64,
         allowance: (perAccount: Points, cap: Points, hours: Int64) = (.zero, .zero, 72)) {
        self.store = store
        self.gossip = gossip
        self.clock = clock
        self.timeoutMilliseconds = timeoutMilliseconds
        self.allowance = allowance
    }

    /// Counts how a debit decided after asking the holders ended.
    func record(_ result: Result<WriteOutcome, any Error>) {
        switch result {
        case .failure(LedgerError.insufficientPointsOffline): refusals.add(1, ordering: .relaxed)
        case .success(.created(let entry)):
            let overspent = (try? Redemption.overdraft(of: entry)) ?? .zero
            if overspent > .zero {
                overdrafts.add(1, ordering: .relaxed)
                overdraftPoints.add(Int(overspent.value), ordering: .relaxed)
            }
        default: break
        }
    }

    /// What this node may still overspend now without the holders: nil without an allowance, or
    /// once it has not heard from any peer for the allowance's hours (or not since it started).
    func overdraftRoom() -> OverdraftRoom? {
        guard allowance.perAccount > .zero, let heard = gossip.lastSync().lastContact,
              clock.monotonicMilliseconds() - heard < allowance.hours * 3_600_000,
              let outstanding = try? store.read({ try $0.totalDeficit() }) else { return nil }
        return OverdraftRoom(perAccount: allowance.perAccount, nodeLeft: max(.zero, allowance.cap - outstanding))
    }

    /// `accounts` were used here: asks the other nodes holding their unexpired lots for them,
    /// in the background.
    func askAhead(_ accounts: [AccountID]) {
        let now = clock.monotonicMilliseconds()
        let due = lookedAt.withLock { looked in
            if looked.count > 100_000 { looked = looked.filter { now - $0.value < Self.askAheadEveryMilliseconds } }
            return accounts.filter { account in
                if let last = looked[account], now - last < Self.askAheadEveryMilliseconds, (gossip.lastGrantedAway(account) ?? .min) < last {
                    return false
                }
                looked[account] = now
                return true
            }
        }
        guard !due.isEmpty else { return }
        queue.async { [self] in
            for account in due {
                guard let holders = otherHolders(of: account), !holders.isEmpty else { continue }
                askedAhead.add(1, ordering: .relaxed)
                gossip.askForRights(.account(account), from: holders)
            }
        }
    }

    /// Asks for `account`'s rights and waits, off the caller's thread, until this node holds
    /// `needed` spendable points of it or the time is up; then calls `then` (true: they are
    /// here). The holders are looked up again every `askEveryMilliseconds`: a grant may have
    /// moved them meanwhile.
    func acquire(_ needed: Points, of account: AccountID, then: @escaping @Sendable (Bool) -> Void) {
        wait(then: then) { [self] askNow in
            if askNow, let holders = otherHolders(of: account), !holders.isEmpty { gossip.askForRights(.account(account), from: holders) }
            let held = (try? store.read { try $0.heldRights(of: account, by: store.nodeID, at: clock.now()) })?.points ?? .zero
            return held >= needed ? .served : .waiting
        }
    }

    /// This node issued in `month`: when it runs low on rights to issue under the chain budget
    /// (`RightsToIssue.runsLow`), asks the holders for a share, in the background. Looked at
    /// once every `askToIssueEveryMilliseconds` at most.
    func askAheadToIssue(in month: CalendarMonth) {
        let now = clock.monotonicMilliseconds()
        let due = issuingLookedAt.withLock { last in
            guard last.map({ now - $0 >= Self.askToIssueEveryMilliseconds }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        queue.async { [self] in
            guard let rights = rightsToIssue(in: month) else { return }
            let nodes = gossip.chainSize()
            guard rights.runsLow(store.nodeID, among: nodes) else { return }
            let holders = rights.holders(otherThan: store.nodeID)
            guard !holders.isEmpty else { return }
            askedAhead.add(1, ordering: .relaxed)
            gossip.askForRights(.issuing(month, rights.share(among: nodes)), from: holders)
        }
    }

    /// Asks for rights to issue in `month` and waits, off the caller's thread, until this node
    /// holds `needed` or the time is up; then calls `then` (true: they are here).
    func acquireToIssue(_ needed: Points, in month: CalendarMonth, then: @escaping @Sendable (Bool) -> Void) {
        wait(then: then) { [self] askNow in
            guard let rights = rightsToIssue(in: month) else { return .hopeless }
            let held = rights.held(by: store.nodeID)
            guard held < needed else { return .served }
            // No other node holds any as this node knows: no grant can be on its way.
            let holders = rights.holders(otherThan: store.nodeID)
            guard !holders.isEmpty else { return .hopeless }
            if askNow { gossip.askForRights(.issuing(month, rights.wanted(needing: needed - held, among: gossip.chainSize())), from: holders) }
            return .waiting
        }
    }

    /// What one look of a wait found.
    private enum Look {
        case served, waiting, hopeless
    }

    /// Looks every millisecond, off the caller's thread, until `look` finds the rights here or
    /// no hope of them, or `timeoutMilliseconds` have passed (`look`'s argument: whether to ask
    /// the holders again, every `askEveryMilliseconds`); counts the wait, then calls `then`
    /// (true: served).
    private func wait(then: @escaping @Sendable (Bool) -> Void, look: @escaping @Sendable (_ askNow: Bool) -> Look) {
        queue.async { [self] in
            let started = clock.monotonicNanoseconds()
            let deadline = clock.monotonicMilliseconds() + timeoutMilliseconds
            var nextAsk = Int64.min, served = false
            looking: while clock.monotonicMilliseconds() < deadline {
                let now = clock.monotonicMilliseconds(), askNow = now >= nextAsk
                if askNow { nextAsk = now + Self.askEveryMilliseconds }
                switch look(askNow) {
                case .served:
                    served = true
                    break looking
                case .hopeless: break looking
                case .waiting: usleep(1_000)
                }
            }
            waitedNanoseconds.add(Int(clock.monotonicNanoseconds() - started), ordering: .relaxed)
            if served { waitsServed.add(1, ordering: .relaxed) } else { waitsTimedOut.add(1, ordering: .relaxed) }
            then(served)
        }
    }

    private func rightsToIssue(in month: CalendarMonth) -> RightsToIssue? {
        (try? store.read { try $0.rightsToIssue(in: month) }) ?? nil
    }

    /// The nodes other than this one holding lots of `account` not yet expired; nil when the
    /// store can't be read.
    private func otherHolders(of account: AccountID) -> [NodeID]? {
        (try? store.read { try $0.lotHolders(of: account, at: clock.now()) })?.filter { $0 != store.nodeID }
    }
}
