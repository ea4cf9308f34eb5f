/// How entries say what they do to lots, in details fields every kind shares (like links), so
/// the store and the fold read them without knowing the kind:
/// - `terms` (tag 16, once per crediting move): the lot's expiry, maturity and policy version,
///   fixed by the node that wrote the entry.
/// - `preferring` (tag 17): the source whose lots a debit takes first (a refund's receipt).
/// - `subjects` (tag 18): accounts the entry concerns without moving their points (an
///   extension), so it is in their history and their fold.
/// - `extension` (tag 19): lots expiring in a range get days more.
public enum LotEvents {
    static let termsTag: UInt64 = 16
    static let preferringTag: UInt64 = 17
    static let subjectTag: UInt64 = 18
    static let extensionTag: UInt64 = 19

    /// The terms of a credited lot.
    public struct Terms: Hashable, Sendable {
        public var move: Int
        public var maturesAt: Int64
        public var expiresAt: Int64
        public var policy: RequestID

        public init(move: Int, maturesAt: Int64, expiresAt: Int64, policy: RequestID) {
            self.move = move
            self.maturesAt = maturesAt
            self.expiresAt = expiresAt
            self.policy = policy
        }
    }

    public static func add(_ terms: Terms, to writer: inout DetailsWriter) {
        var field = DetailsWriter()
        field.number(1, Int64(terms.move))
        field.number(2, terms.maturesAt)
        field.number(3, terms.expiresAt)
        field.text(4, terms.policy.rawValue)
        writer.field(termsTag) { $0.raw(field.details.bytes) }
    }

    public static func addPreferring(_ source: String, to writer: inout DetailsWriter) { writer.text(preferringTag, source) }

    public static func addSubject(_ account: AccountID, to writer: inout DetailsWriter) { writer.text(subjectTag, account.rawValue) }

    public static func add(_ lotExtension: LotExtension, to writer: inout DetailsWriter) {
        var field = DetailsWriter()
        field.number(1, lotExtension.expiring.lowerBound)
        field.number(2, lotExtension.expiring.upperBound)
        field.number(3, lotExtension.days)
        writer.field(extensionTag) { $0.raw(field.details.bytes) }
    }

    /// Accounts named as subjects, for the store's history index (`LedgerEntry.customerAccounts`).
    static func subjects(of details: EntryDetails) -> [AccountID] {
        DetailsReader(details.bytes).values(subjectTag).compactMap { bytes in
            String(validating: bytes, as: UTF8.self).flatMap { try? AccountID(validating: $0) }
        }
    }

    public static func terms(of entry: LedgerEntry) throws(DecodingError) -> [Terms] {
        var all: [Terms] = []
        for bytes in try entry.details.reader().values(termsTag) {
            let field = try EntryDetails(bytes: bytes).reader()
            guard let move = try field.number(1), let matures = try field.number(2), let expires = try field.number(3),
                  let policy: RequestID = try field.identifier(4)
            else { throw .invalid("entry \(entry.id): incomplete lot terms") }
            all.append(Terms(move: Int(move), maturesAt: matures, expiresAt: expires, policy: policy))
        }
        return all
    }

    public static func lotExtension(of entry: LedgerEntry) throws(DecodingError) -> LotExtension? {
        guard let bytes = try entry.details.reader().value(extensionTag) else { return nil }
        let field = try EntryDetails(bytes: bytes).reader()
        let clock = 0...EntryBounds.maximumClock
        guard let from = try field.number(1), let to = try field.number(2), let days = try field.number(3), from <= to,
              clock.contains(from), clock.contains(to), ExpiryRule.daysRange.contains(days)
        else {
            throw .invalid("entry \(entry.id): incomplete extension")
        }
        return LotExtension(expiring: from...to, days: days)
    }

    /// What `entry` does to `account`'s lots, in order. A credit without recorded terms (an
    /// entry from before lots existed) expires under the standard policy from its timestamp.
    public static func of(_ entry: LedgerEntry, for account: AccountID) throws(DecodingError) -> [LotEvent] {
        try of(entry, accounts: [account])[account] ?? []
    }

    /// What `entry` does to the lots of each of `accounts` (its customer accounts, normally),
    /// reading its details once: a compensation names a thousand accounts.
    public static func of(_ entry: LedgerEntry, accounts: [AccountID]) throws(DecodingError) -> [AccountID: [LotEvent]] {
        let instant = entry.timestamp.wallMilliseconds
        let wanted = Set(accounts.map(LedgerAccount.init))
        var events: [AccountID: [LotEvent]] = [:]
        var terms: [Int: Terms]?
        let preferring = try entry.details.reader().text(preferringTag)
        for (index, move) in entry.moves.enumerated() where move.asset == .points && move.phase == .posted {
            if wanted.contains(move.credit), let account = move.credit.customer {
                if terms == nil { terms = Dictionary(try Self.terms(of: entry).map { ($0.move, $0) }) { first, _ in first } }
                let term = terms?[index]
                    ?? Terms(move: index, maturesAt: instant, expiresAt: ExpiryPolicyVersion.standard.rule.expiry(earnedAt: instant),
                             policy: ExpiryPolicyVersion.standard.id)
                events[account, default: []].append(.credit(Lot(
                    id: LotID(entry: entry.id, move: index), amount: move.amount, remaining: move.amount, earnedAt: instant,
                    maturesAt: term.maturesAt, expiresAt: term.expiresAt, policy: term.policy, source: entry.idempotencyKey.description)))
            }
            if wanted.contains(move.debit), let account = move.debit.customer {
                events[account, default: []].append(.debit(move.amount, at: instant, preferring: preferring))
            }
        }
        if let extended = try lotExtension(of: entry) {
            for account in accounts { events[account, default: []].append(.extend(extended, at: instant)) }
        }
        return events
    }

    /// The book of `account` from its counting entries, in any order: sorted into ledger order
    /// and applied. The reference every store's kept lots must equal.
    public static func fold(_ entries: [LedgerEntry], for account: AccountID) throws(DecodingError) -> LotBook {
        var book = LotBook()
        for entry in entries.sorted(by: { LotOrder($0) < LotOrder($1) }) {
            for event in try of(entry, for: account) { book.apply(event) }
        }
        return book
    }
}

/// The order lot events apply in: the entries' hybrid logical timestamps, then their ids. Every
/// node sorts the same entries the same way.
public struct LotOrder: Hashable, Comparable, Sendable {
    public var wall: Int64
    public var logical: Int64
    public var origin: String
    public var sequence: Int64

    public init(_ entry: LedgerEntry) {
        self.init(wall: entry.timestamp.wallMilliseconds, logical: entry.timestamp.logical, origin: entry.id.origin.rawValue,
                  sequence: entry.id.sequence)
    }

    public init(wall: Int64, logical: Int64, origin: String, sequence: Int64) {
        self.wall = wall
        self.logical = logical
        self.origin = origin
        self.sequence = sequence
    }

    public static func < (lhs: LotOrder, rhs: LotOrder) -> Bool {
        (lhs.wall, lhs.logical, lhs.origin, lhs.sequence) < (rhs.wall, rhs.logical, rhs.origin, rhs.sequence)
    }
}
