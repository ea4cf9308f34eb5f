import PointMeshCore
import Testing

/// Every interleaving of `sequences` that keeps each one's order: every order gossip may deliver
/// several origins' entries in (an origin's arrive in sequence).
func interleavings<T>(_ sequences: [[T]]) -> [[T]] {
    guard sequences.contains(where: { !$0.isEmpty }) else { return [[]] }
    return sequences.indices.filter { !sequences[$0].isEmpty }.flatMap { index in
        var rest = sequences
        let first = rest[index].removeFirst()
        return interleavings(rest).map { [first] + $0 }
    }
}

/// The entries `ledger`'s own node wrote, in sequence.
func ownEntries(of ledger: MemoryLedger) -> [LedgerEntry] {
    ledger.allEntries.filter { $0.id.origin == ledger.origin }.sorted { $0.id.sequence < $1.id.sequence }
}

/// A fresh ledger of `node` holding `order`, applied once in that order (each entry must be the
/// next of its origin).
func replayed(_ order: [LedgerEntry], at node: NodeID) -> MemoryLedger {
    var ledger = MemoryLedger(origin: node)
    let stored = ledger.apply(order)
    #expect(stored == order.count, "every entry of the order is the next of its origin")
    return ledger
}
