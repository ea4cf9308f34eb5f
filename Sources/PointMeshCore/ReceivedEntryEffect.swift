/// The effect of applying one received entry to a ledger, decided from the ledger's state.
public enum ReceivedEntryEffect: Equatable, Sendable {
    /// The entry counts: add its deltas.
    case counts
    /// Another copy of the same request (its key and request hash) already counts and precedes
    /// it: store it as a duplicate.
    case duplicate
    /// It precedes the copy of the same request currently counting: that one becomes a
    /// duplicate (its deltas are taken back) and this one counts.
    case supersedes(LedgerEntry)

    /// Decides the effect of `entry` given the entries that currently count for its key. Only a
    /// copy of the identical request collapses: a different request that names the same id at a
    /// node that had not seen the other (two tills numbering alike) is a write of its own and
    /// counts beside it (a clash, `IdempotencyClash`), so nothing acknowledged counts for nothing.
    public static func of(_ entry: LedgerEntry, counting: [LedgerEntry]) -> ReceivedEntryEffect {
        guard let current = counting.first(where: { $0.requestHash == entry.requestHash }) else { return .counts }
        return ReplicationRules.precedes(entry, current) ? .supersedes(current) : .duplicate
    }
}
