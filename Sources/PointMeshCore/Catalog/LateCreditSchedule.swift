/// When a store sweeps its purchases for the late campaign credits it owes (`LateCampaigns`):
/// whenever the catalog it holds has changed since the last sweep that wrote every credit it
/// owed. A sweep that could not write some (a full disk, a storage error) is tried again after
/// `retryDelay`, catalog changed or not, so a credit owed is written once storage recovers, not
/// only at the next catalog change or start. The node's sweeper and the simulation's both run it.
public struct LateCreditSchedule: Sendable {
    /// The catalog's entry count when a sweep last wrote every credit it owed; nil before one did.
    public private(set) var sweptCatalog: Int?
    /// After a sweep that left credits unwritten: the instant (milliseconds) to try again from.
    public private(set) var retryAt: Int64?
    public let retryDelay: Int64

    public init(retryDelay: Int64 = 30_000) {
        self.retryDelay = retryDelay
    }

    /// Whether to sweep now, with the catalog holding `catalogEntries` entries.
    public func isDue(catalogEntries: Int, now: Int64) -> Bool {
        guard catalogEntries != sweptCatalog else { return false }
        return retryAt.map { now >= $0 } ?? true
    }

    /// Whether a sweep left credits it owed unwritten, to be tried again.
    public var isRetrying: Bool { retryAt != nil }

    /// Records a sweep over a catalog of `catalogEntries` entries that failed to write `failed` credits.
    public mutating func swept(catalogEntries: Int, failed: Int, now: Int64) {
        guard failed == 0 else { return sweepFailed(now: now) }
        sweptCatalog = catalogEntries
        retryAt = nil
    }

    /// Records a sweep that could not finish (a read or a write failed): tried again after the delay.
    public mutating func sweepFailed(now: Int64) {
        retryAt = now + retryDelay
    }
}
