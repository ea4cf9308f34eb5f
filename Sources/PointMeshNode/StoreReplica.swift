import PointMeshCore
import PointMeshStore

/// The gossip protocol's view of the node's SQLite ledger.
struct StoreReplica: ReplicaStore {
    let store: LedgerStore
    /// Called after each applied batch with the entries newly stored by it.
    let onApplied: (Int) -> Void

    func versionVector() throws -> VersionVector { store.versionVector }

    func ledgerDigest() throws -> String { try store.ledgerDigest() }

    func entries(of origin: NodeID, after: Int64, limit: Int) throws -> [LedgerEntry] {
        try store.read { try $0.entries(of: origin, after: after, limit: limit) }
    }

    mutating func apply(_ entries: [LedgerEntry]) throws -> Int {
        let stored = try store.applyReceived(entries)
        onApplied(stored)
        return stored
    }
}
