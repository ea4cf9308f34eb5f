/// What an entry records, as a number on the wire. Open: each kind of change has its code
/// (`EntryKinds`), and a node that meets a code it does not know still applies the entry's
/// moves, keeps its details and forwards it, and interprets it once upgraded.
public struct EntryCode: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { String(value) }
    public static func < (lhs: EntryCode, rhs: EntryCode) -> Bool { lhs.value < rhs.value }
}

/// One line of a purchase, kept on the entry so that category campaigns can apply to it later.
public struct PurchaseItem: Hashable, Sendable {
    public var sku: SKU
    public var category: CategoryID
    public var amount: Fen

    public init(sku: SKU, category: CategoryID, amount: Fen) {
        self.sku = sku
        self.category = category
        self.amount = amount
    }
}

/// An immutable change to the ledger: one or more moves between accounts, decided together by
/// the node that wrote it (the origin) and applied as recorded everywhere else. Entries are the
/// source of truth; every balance is a counter derived from their moves (`MoveEffects`), and the
/// counters can always be recomputed.
///
/// The shared type carries nothing kind-specific: what a kind needs beyond its moves (a
/// receipt, an amount in fen, the balance after, for a replay's answer) is in `details`, which
/// only that kind reads. So a new kind of change adds no field here.
public struct LedgerEntry: Hashable, Sendable {
    public var id: EntryID
    public var timestamp: HLCTimestamp
    public var code: EntryCode
    /// The client's id for this write, namespaced by kind.
    public var idempotencyKey: IdempotencyKey
    /// Fingerprint of the request that created the entry; a replay must carry the same.
    public var requestHash: RequestHash
    public var moves: [Move]
    public var details: EntryDetails
    /// Reserved for later use, 0 today; carried and forwarded as received.
    public var flags: UInt64
    /// The entry format it was written in (`EntryCoding.format` for entries this release
    /// writes); kept so a newer format's entry is forwarded as received.
    public var format: UInt64
    /// Bytes a newer entry format put after the fields this release knows; kept and forwarded
    /// as received (`EntryCoding`).
    public var trailing: [UInt8]

    public init(
        id: EntryID, timestamp: HLCTimestamp, code: EntryCode, idempotencyKey: IdempotencyKey,
        requestHash: RequestHash, moves: [Move], details: EntryDetails = .empty, flags: UInt64 = 0, trailing: [UInt8] = [],
        format: UInt64 = EntryCoding.format
    ) {
        self.id = id
        self.timestamp = timestamp
        self.code = code
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.moves = moves
        self.details = details
        self.flags = flags
        self.trailing = trailing
        self.format = format
    }

    /// Customer accounts the entry concerns, in order: those its moves touch, then those it
    /// names as subjects (`LotEvents`). Its history lines and lot events go to these.
    public var customerAccounts: [AccountID] {
        var seen: [AccountID] = [], known: Set<AccountID> = []
        for move in moves {
            for account in [move.debit, move.credit] {
                if let customer = account.customer, known.insert(customer).inserted { seen.append(customer) }
            }
        }
        for subject in LotEvents.subjects(of: details) where known.insert(subject).inserted { seen.append(subject) }
        return seen
    }
}
