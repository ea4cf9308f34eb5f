import PointMeshCore

/// What a write did, once its transaction is on disk.
public enum WriteOutcome: Hashable, Sendable {
    /// A new entry was appended and committed.
    case created(LedgerEntry)
    /// The same write was made before; this is its entry.
    case replayed(LedgerEntry)

    public var entry: LedgerEntry {
        switch self {
        case .created(let entry), .replayed(let entry): entry
        }
    }
}
