/// The outcome of deciding a write.
public enum WriteDecision: Hashable, Sendable {
    /// The write was made before with the same body: answer with the original entry.
    case replay(LedgerEntry)
    /// A new entry to append.
    case append(LedgerEntry)
}

/// How any write is decided: a replay answers with the entry that already holds its key (or
/// conflicts when the body differs), anything else is its kind's decision. Pure: every node
/// decides the same from the same facts.
public enum LedgerRules {
    /// Decides `write` against `source`. `id` and `timestamp` are what a new entry would carry.
    public static func decide(
        _ write: PreparedWrite, from source: some FactsSource, id: EntryID, timestamp: HLCTimestamp, context: RequestContext
    ) throws -> WriteDecision {
        if let current = try write.current(from: source) { return .replay(current) }
        let existing = try source.countingEntries(for: write.key)
        if let same = existing.first(where: { $0.requestHash == write.hash }) { return .replay(same) }
        guard existing.isEmpty else { throw LedgerError.idempotencyConflict(write.key) }
        let decision: KindDecision
        do {
            decision = try write.decide(from: source, context: context)
        } catch let unreadable as DecodingError {
            // A fact that does not read refuses this write alone, never the group it commits in.
            throw LedgerError.unreadableEntry("\(unreadable)")
        }
        var details = decision.details
        if context.settings.spendingRights, decision.moves.contains(where: { $0.asset == .points && $0.debit.customer != nil }) {
            // Its debits were decided within this node's rights: they take only its lots.
            var writer = DetailsWriter()
            LotEvents.addHeldRights(to: &writer)
            details = EntryDetails(bytes: details.bytes + writer.details.bytes)
        }
        return .append(LedgerEntry(
            id: id, timestamp: timestamp, code: write.kind.code, idempotencyKey: write.key, requestHash: write.hash,
            moves: decision.moves, details: EntryAudit.details(details, madeBy: context.caller)))
    }
}
