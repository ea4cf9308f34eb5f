import Dispatch
import Foundation
import PointMeshCore
import PointMeshStore
import PointMeshThreads
import Synchronization

/// Writes the late campaign credits this store owes (`LateCampaigns`): whenever the catalog it
/// holds changes (a campaign published or changed here, or received by gossip), it looks for
/// its own purchases in each campaign's window that earned less than the campaign gives, and
/// credits them, one entry per campaign and receipt. Only the store that rang a receipt up
/// credits it, and the entry's key makes any second credit a duplicate: once, chain-wide. A
/// sweep that could not write every credit is tried again (`LateCreditSchedule`).
final class LateCampaignSweeper: Sendable {
    /// How often it checks whether the catalog changed.
    static let interval: TimeInterval = 0.5

    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    init(store: LedgerStore, clock: NodeClock, log: Logger) {
        NamedThread.start("pm-late-credits") { [self] in
            var schedule = LateCreditSchedule()
            /// Each campaign's definition (window, withdrawal, terms) when it was last swept: a
            /// campaign is swept again only when it is new or its definition changed. Kept in the
            /// data directory, so a restart doesn't read every purchase in every campaign's window again.
            var sweptCampaigns = Self.loadSwept(store, log: log)
            while !stopped.withLock({ $0 }) {
                Thread.sleep(forTimeInterval: Self.interval)
                do {
                    let count = try store.read { try $0.catalogEntryCount() }
                    guard schedule.isDue(catalogEntries: count, now: clock.monotonicMilliseconds()) else { continue }
                    let catalog = try store.read { try $0.catalog() }
                    let changed = catalog.campaigns.values.filter { sweptCampaigns[$0.id] != Self.sweptTerms($0) }
                    if !changed.isEmpty {
                        log.info("late campaign credits: sweeping this store's purchases for \(changed.count) new or changed campaigns")
                    } else if schedule.sweptCatalog == nil, !schedule.isRetrying, !catalog.campaigns.isEmpty {
                        log.info("late campaign credits: every campaign (\(catalog.campaigns.count)) was swept before; nothing to read again")
                    }
                    var credited = 0, failed = 0
                    for campaign in LateCampaigns.campaigns(in: catalog, for: store.nodeID, only: Set(changed.map(\.id))) {
                        // Page by page, each read in its own snapshot (none held open while credits are written).
                        var after: Int64? = 0
                        while let start = after, !stopped.withLock({ $0 }) {
                            let page = try store.read { try LateCampaigns.owed(campaign, by: store.nodeID, from: $0, catalog: catalog, after: start) }
                            for write in page.writes where !stopped.withLock({ $0 }) {
                                do {
                                    if case .created = try store.write(write, context: RequestContext(caller: "late-campaigns", node: store.nodeID, now: clock.now())) {
                                        credited += 1
                                        if credited % 1_000 == 0 { log.info("late campaign credits: \(credited) written so far") }
                                    }
                                } catch LedgerError.nothingOwed {
                                    continue
                                } catch StoreError.closed {
                                    throw StoreError.closed
                                } catch {
                                    // One credit that can't be written doesn't hold up the others; the
                                    // schedule tries the sweep again after its retry delay.
                                    if failed == 0 { log.error("a late campaign credit failed: \(error)") }
                                    failed += 1
                                }
                            }
                            after = page.next
                        }
                    }
                    if credited > 0 { log.info("late campaign credits: \(credited) receipts credited for campaigns this store learned late") }
                    if failed > 0 {
                        log.error("late campaign credits: \(failed) could not be written; trying again in \(schedule.retryDelay / 1_000) s")
                    }
                    guard !stopped.withLock({ $0 }) else { break }
                    // Recorded only when every credit was written: otherwise the retry sweeps the
                    // same campaigns again (credits already written are not owed any more).
                    if failed == 0 {
                        for campaign in changed { sweptCampaigns[campaign.id] = Self.sweptTerms(campaign) }
                        if !changed.isEmpty {
                            try store.saveMeta(Dictionary(uniqueKeysWithValues: changed.map { (Self.sweptKey + $0.id.rawValue, Self.sweptTerms($0)) }))
                        }
                    }
                    schedule.swept(catalogEntries: count, failed: failed, now: clock.monotonicMilliseconds())
                } catch {
                    if !stopped.withLock({ $0 }) {
                        log.error("late campaign credits failed (trying again in \(schedule.retryDelay / 1_000) s): \(error)")
                        schedule.sweepFailed(now: clock.monotonicMilliseconds())
                    }
                }
            }
            finished.signal()
        }
    }

    /// The `meta` key prefix of a swept campaign's window.
    static let sweptKey = "late-credits-swept:"

    /// The campaigns swept before this start, and the windows they were swept for.
    static func loadSwept(_ store: LedgerStore, log: Logger) -> [CampaignID: String] {
        do {
            let saved = try store.read { try $0.meta(withPrefix: sweptKey) }
            return Dictionary(uniqueKeysWithValues: saved.map { (CampaignID(unchecked: String($0.key.dropFirst(sweptKey.count))), $0.value) })
        } catch {
            log.error("late campaign credits: the campaigns swept before could not be read; sweeping all again: \(error)")
            return [:]
        }
    }

    /// What decides which purchases a campaign may owe, and what: its window and withdrawal,
    /// and its terms (a definition the merge of two sides of a cut puts in force with the same
    /// window but another effect can owe receipts the difference).
    static func sweptTerms(_ campaign: Campaign) -> String {
        let effect = switch campaign.effect {
        case .multiplier(let n): "x\(n)"
        case .bonus(let points): "+\(points.value)"
        }
        return "\(campaign.startsAt)-\(campaign.endsAt)-\(campaign.withdrawnAt ?? -1)-\(effect)-\(campaign.green)"
            + "-\(campaign.categories.map(\.rawValue).joined(separator: ","))-\(campaign.stores.map(\.rawValue).joined(separator: ","))"
    }

    func stop() {
        stopped.withLock { $0 = true }
        finished.wait()
    }
}
