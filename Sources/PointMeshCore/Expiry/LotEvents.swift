/// How entries say what they do to lots, in details fields every kind shares (like links), so
/// the store and the fold read them without knowing the kind:
/// - `terms` (tag 16, once per crediting move): the lot's expiry, maturity and policy version,
///   fixed by the node that wrote the entry.
/// - `preferring` (tag 17): the source whose lots a debit takes first (a refund's receipt).
/// - `subjects` (tag 18): accounts the entry concerns without moving their points (an
///   extension), so it is in their history and their fold.
/// - `extension` (tag 19): lots expiring in a range get days more.
/// - `moved` (tag 21, once per debiting move of a transfer): the expiry instant of the lots the
///   move took at its origin, which its debit takes first everywhere (`LotPreference.expiresAt`).
/// - `green preference` (tag 23, per debiting move): whether the move takes green or regular
///   lots first, and whether only those (a green-only reward).
/// - `family` (tag 22): the family inside which the entry moves points; it stands only if its
///   accounts belong to that family at its instant in the converged history (`FamilyCondition`).
/// - `cooling-off` (tag 24, with `family`): milliseconds its accounts must have been members
///   of the family by then; absent on transfers written before the rule existed (none).
/// - `held rights` (tag 25): the entry was decided under spending rights, so its debits take
///   only lots its origin holds (`LotPreference.heldBy`).
/// - `grant` (tag 26): the node receiving every lot the entry's origin holds of its subject
///   accounts (`RightsGrant`).
public enum LotEvents {
    static let termsTag: UInt64 = 16
    static let preferringTag: UInt64 = 17
    static let subjectTag: UInt64 = 18
    static let extensionTag: UInt64 = 19
    static let movedTag: UInt64 = 21
    static let familyTag: UInt64 = 22
    static let greenTag: UInt64 = 23
    static let coolingOffTag: UInt64 = 24
    static let heldRightsTag: UInt64 = 25
    static let grantTag: UInt64 = 26
    static let tags = [termsTag, preferringTag, subjectTag, extensionTag, movedTag, familyTag, greenTag, coolingOffTag, heldRightsTag, grantTag]

    /// Declares that the entry's debits take only lots its origin holds.
    public static func addHeldRights(to writer: inout DetailsWriter) { writer.number(heldRightsTag, 1) }

    /// Declares that the entry's origin hands every lot it holds of the entry's subjects to `receiver`.
    public static func addGrant(to receiver: NodeID, to writer: inout DetailsWriter) { writer.text(grantTag, receiver.rawValue) }

    /// Whether an entry's debits take only lots its origin holds.
    public static func isDecidedUnderRights(_ entry: LedgerEntry) throws(DecodingError) -> Bool { try lotFields(of: entry).heldRights }

    /// Whether an entry moves spending rights or spends under them: a fold that ignores holders
    /// (a release before 0.8) gets its accounts' lots wrong.
    public static func concernsRights(_ entry: LedgerEntry) throws(DecodingError) -> Bool {
        let fields = try lotFields(of: entry)
        return fields.heldRights || fields.grantedTo != nil
    }

    /// The terms of a credited lot.
    public struct Terms: Hashable, Sendable {
        public var move: Int
        public var maturesAt: Int64
        public var expiresAt: Int64
        public var policy: RequestID
        /// The lot holds green points.
        public var green: Bool

        public init(move: Int, maturesAt: Int64, expiresAt: Int64, policy: RequestID, green: Bool = false) {
            self.move = move
            self.maturesAt = maturesAt
            self.expiresAt = expiresAt
            self.policy = policy
            self.green = green
        }
    }

    public static func add(_ terms: Terms, to writer: inout DetailsWriter) {
        writer.group(termsTag) { field in
            field.number(1, Int64(terms.move))
            field.number(2, terms.maturesAt)
            field.number(3, terms.expiresAt)
            field.text(4, terms.policy.rawValue)
            if terms.green { field.number(5, 1) }
        }
    }

    /// Declares that debiting move `move` takes green (or regular) lots first; `exclusive`: only those.
    public static func addGreenPreference(move: Int, green: Bool, exclusive: Bool = false, to writer: inout DetailsWriter) {
        writer.group(greenTag) { field in
            field.number(1, Int64(move))
            field.number(2, green ? 1 : 0)
            if exclusive { field.number(3, 1) }
        }
    }

    public static func addPreferring(_ source: String, to writer: inout DetailsWriter) { writer.text(preferringTag, source) }

    /// Declares that debiting move `move` takes the lots expiring at `expiresAt` first.
    public static func addMoved(move: Int, expiresAt: Int64, green: Bool = false, to writer: inout DetailsWriter) {
        writer.group(movedTag) { field in
            field.number(1, Int64(move))
            field.number(2, expiresAt)
            if green { field.number(3, 1) }
        }
    }

    /// Declares that the entry's moves stand only inside `family`, between accounts that have
    /// been members for `coolingOff` milliseconds (`FamilyCondition`).
    public static func addFamily(_ family: FamilyID, coolingOff: Int64, to writer: inout DetailsWriter) {
        writer.text(familyTag, family.rawValue)
        if coolingOff > 0 { writer.number(coolingOffTag, coolingOff) }
    }

    /// The cooling-off period an entry declares with its family, in milliseconds.
    public static func coolingOff(of entry: LedgerEntry) throws(DecodingError) -> Int64 {
        try DetailsReader(entry.details.bytes).number(coolingOffTag) ?? 0
    }

    /// The family an entry's moves are conditional on, if any.
    public static func family(of entry: LedgerEntry) throws(DecodingError) -> FamilyID? {
        // The entry's fields were checked when it was decoded or built, and this is asked of
        // every entry whose lots are booked: one pass, not a check and then a lookup.
        try DetailsReader(entry.details.bytes).identifier(familyTag)
    }

    public static func addSubject(_ account: AccountID, to writer: inout DetailsWriter) { writer.text(subjectTag, account.rawValue) }

    public static func add(_ lotExtension: LotExtension, to writer: inout DetailsWriter) {
        writer.group(extensionTag) { field in
            field.number(1, lotExtension.expiring.lowerBound)
            field.number(2, lotExtension.expiring.upperBound)
            field.number(3, lotExtension.days)
        }
    }

    /// Accounts named as subjects, for the store's history index (`LedgerEntry.customerAccounts`).
    static func subjects(of details: EntryDetails) -> [AccountID] {
        DetailsReader(details.bytes).values(subjectTag).compactMap { bytes in
            String(validating: bytes, as: UTF8.self).flatMap { try? AccountID(validating: $0) }
        }
    }

    public static func terms(of entry: LedgerEntry) throws(DecodingError) -> [Terms] {
        try lotFields(of: entry).terms.sorted { $0.move < $1.move }
    }

    public static func lotExtension(of entry: LedgerEntry) throws(DecodingError) -> LotExtension? {
        try lotFields(of: entry).extended
    }

    /// What `entry` does to `account`'s lots, in order. A credit without recorded terms (an
    /// entry from before lots existed) expires under the standard policy from its timestamp.
    /// `stands`: false for an entry whose family condition the converged history contradicts
    /// (`FamilyCondition`), which does nothing to any lot.
    public static func of(_ entry: LedgerEntry, for account: AccountID, stands: Bool = true) throws(DecodingError) -> [LotEvent] {
        try of(entry, accounts: [account], stands: stands)[account] ?? []
    }

    /// The lots a counting entry that stands credits, as amounts and expiries, read without
    /// building its lot events (the report sums read this on every write).
    public static func credits(of entry: LedgerEntry) throws(DecodingError) -> [(amount: Points, expiresAt: Int64)] {
        let credited = entry.moves.indices.filter {
            entry.moves[$0].asset == .points && entry.moves[$0].phase == .posted && entry.moves[$0].credit.customer != nil
        }
        guard !credited.isEmpty else { return [] }
        let fields = try lotFields(of: entry)
        return credited.map { (entry.moves[$0].amount, fields.term(of: $0, at: entry.timestamp.wallMilliseconds).expiresAt) }
    }

    /// The lot fields of an entry's details, read in one pass (every write's lots are derived
    /// from its entry, so this is on the write path).
    struct LotFields {
        /// By move; an array because an entry has one or two (a dictionary cost a hash table per write).
        var terms: [Terms] = []

        /// The terms of the lot move `move` credits; an entry from before lots existed recorded
        /// none: the standard policy from its instant.
        func term(of move: Int, at instant: Int64) -> Terms {
            terms.first { $0.move == move }
                ?? Terms(move: move, maturesAt: instant, expiresAt: ExpiryPolicyVersion.standard.rule.expiry(earnedAt: instant),
                         policy: ExpiryPolicyVersion.standard.id)
        }
        var preferring: String?
        var extended: LotExtension?
        var moved: [Int: (expiresAt: Int64, green: Bool)] = [:]
        var green: [Int: (green: Bool, exclusive: Bool)] = [:]
        var heldRights = false
        var grantedTo: NodeID?
    }

    static func lotFields(of entry: LedgerEntry) throws(DecodingError) -> LotFields {
        let bytes = entry.details.bytes
        var fields = LotFields()
        var reader = BinaryReader(bytes)
        while !reader.isAtEnd {
            let tag = try reader.varint(), length = try reader.length()
            let start = reader.offset
            switch tag {
            case termsTag:
                let terms = try self.terms(bytes, from: start, length: length, entry: entry.id)
                fields.terms.removeAll { $0.move == terms.move }
                fields.terms.append(terms)
            case preferringTag:
                fields.preferring = String(decoding: try reader.raw(length), as: UTF8.self)
                continue
            case movedTag:
                var move: Int64?, expires: Int64?, green = false
                try DetailsReader.forEachNested(in: bytes, from: start, length: length) { (field: UInt64, inner: inout BinaryReader, _: Int) throws(DecodingError) in
                    switch field {
                    case 1: move = try DetailsReader.zigzag(&inner)
                    case 2: expires = try DetailsReader.zigzag(&inner)
                    case 3: green = try DetailsReader.zigzag(&inner) == 1
                    default: break
                    }
                }
                guard let move, let expires, (0...Int64(UInt16.max)).contains(move) else { throw .invalid("entry \(entry.id): incomplete moved lots") }
                fields.moved[Int(move)] = (expires, green)
            case greenTag:
                var move: Int64?, green = false, exclusive = false
                try DetailsReader.forEachNested(in: bytes, from: start, length: length) { (field: UInt64, inner: inout BinaryReader, _: Int) throws(DecodingError) in
                    switch field {
                    case 1: move = try DetailsReader.zigzag(&inner)
                    case 2: green = try DetailsReader.zigzag(&inner) == 1
                    case 3: exclusive = try DetailsReader.zigzag(&inner) == 1
                    default: break
                    }
                }
                guard let move, (0...Int64(UInt16.max)).contains(move) else { throw .invalid("entry \(entry.id): incomplete green preference") }
                fields.green[Int(move)] = (green, exclusive)
            case heldRightsTag:
                fields.heldRights = try DetailsReader.number(try reader.raw(length)) == 1
                continue
            case grantTag:
                let name = String(decoding: try reader.raw(length), as: UTF8.self)
                guard let node = try? NodeID(validating: name) else { throw .invalid("entry \(entry.id): grant to an invalid node id") }
                fields.grantedTo = node
                continue
            case extensionTag:
                var from: Int64?, to: Int64?, days: Int64?
                try DetailsReader.forEachNested(in: bytes, from: start, length: length) { (field: UInt64, inner: inout BinaryReader, _: Int) throws(DecodingError) in
                    switch field {
                    case 1: from = try DetailsReader.zigzag(&inner)
                    case 2: to = try DetailsReader.zigzag(&inner)
                    case 3: days = try DetailsReader.zigzag(&inner)
                    default: break
                    }
                }
                let clock = 0...EntryBounds.maximumClock
                guard let from, let to, let days, from <= to, clock.contains(from), clock.contains(to),
                      ExpiryRule.daysRange.contains(days)
                else { throw .invalid("entry \(entry.id): incomplete extension") }
                fields.extended = LotExtension(expiring: from...to, days: days)
            default:
                break
            }
            // Nested fields are read by readers of their own: this one is still at the value.
            try reader.skip(length)
        }
        return fields
    }

    /// The lot terms in the nested field at `start..<start+length` of `bytes`.
    private static func terms(_ bytes: [UInt8], from start: Int, length: Int, entry: EntryID) throws(DecodingError) -> Terms {
        var move: Int64?, matures: Int64?, expires: Int64?, policy: RequestID?, green = false
        try DetailsReader.forEachNested(in: bytes, from: start, length: length) { (field: UInt64, inner: inout BinaryReader, end: Int) throws(DecodingError) in
            switch field {
            case 1: move = try DetailsReader.zigzag(&inner)
            case 2: matures = try DetailsReader.zigzag(&inner)
            case 3: expires = try DetailsReader.zigzag(&inner)
            case 4: policy = try? RequestID(validating: String(decoding: try inner.raw(end - inner.offset), as: UTF8.self))
            case 5: green = try DetailsReader.zigzag(&inner) == 1
            default: break
            }
        }
        guard let move, let matures, let expires, let policy, (0...Int64(UInt16.max)).contains(move) else {
            throw .invalid("entry \(entry): incomplete lot terms")
        }
        return Terms(move: Int(move), maturesAt: matures, expiresAt: expires, policy: policy, green: green)
    }

    /// The terms of the lot an entry's first move credits, read without the rest of its lot
    /// fields (an earning's answer needs only these).
    public static func firstTerms(of entry: LedgerEntry) throws(DecodingError) -> Terms? {
        let bytes = entry.details.bytes
        var reader = BinaryReader(bytes)
        while !reader.isAtEnd {
            let tag = try reader.varint(), length = try reader.length()
            let start = reader.offset
            if tag == termsTag {
                let terms = try terms(bytes, from: start, length: length, entry: entry.id)
                if terms.move == 0 { return terms }
            }
            try reader.skip(length)
        }
        return nil
    }

    /// What `entry` does to the lots of each of `accounts` (its customer accounts, normally),
    /// reading its details once: a compensation names a thousand accounts.
    public static func of(_ entry: LedgerEntry, accounts: [AccountID], stands: Bool = true) throws(DecodingError) -> [AccountID: [LotEvent]] {
        guard stands else { return [:] }
        let instant = entry.timestamp.wallMilliseconds
        var events: [AccountID: [LotEvent]] = [:]
        let fields = try lotFields(of: entry)
        let single = accounts.count == 1 ? LedgerAccount(accounts[0]) : nil
        let wanted = single == nil ? Set(accounts.map(LedgerAccount.init)) : []
        func concerns(_ account: LedgerAccount) -> Bool { single.map { $0 == account } ?? wanted.contains(account) }
        var source: String?
        for (index, move) in entry.moves.enumerated() where move.asset == .points && move.phase == .posted {
            if let account = move.credit.customer, concerns(move.credit) {
                let term = fields.term(of: index, at: instant)
                if source == nil { source = entry.idempotencyKey.description }
                events[account, default: []].append(.credit(Lot(
                    id: LotID(entry: entry.id, move: index), amount: move.amount, remaining: move.amount, earnedAt: instant,
                    maturesAt: term.maturesAt, expiresAt: term.expiresAt, policy: term.policy, source: source ?? "", green: term.green)))
            }
            if let account = move.debit.customer, concerns(move.debit) {
                events[account, default: []].append(.debit(move.amount, at: instant,
                                                           preferring: fields.preference(of: index, heldBy: fields.heldRights ? entry.id.origin : nil)))
            }
        }
        if let extended = fields.extended {
            for account in accounts { events[account, default: []].append(.extend(extended, at: instant)) }
        }
        if let receiver = fields.grantedTo {
            for account in accounts { events[account, default: []].append(.grant(RightsHandover(from: entry.id.origin, to: receiver), at: instant)) }
        }
        return events
    }

    /// The book of `account` from its counting entries, in any order: sorted into ledger order
    /// and applied. The reference every store's kept lots must equal. `memberships` gives an
    /// account's membership entries, for entries with a family condition. `voidRefunds`: the
    /// refunds the converged history voids (`RefundCondition`); when nil they are read from
    /// `entries` themselves, which is right only when those hold every refund of each purchase:
    /// a refund decided against a copy of a purchase that credited another account (a member
    /// where the counting copy auto-pooled to the family pool) is among that account's entries.
    public static func fold(_ entries: [LedgerEntry], for account: AccountID, voidRefunds: Set<EntryID>? = nil,
                            memberships: (AccountID) throws -> [LedgerEntry] = { _ in [] }) throws -> LotBook {
        var book = LotBook()
        let voidRefunds = voidRefunds ?? RefundCondition.void(among: entries)
        for entry in entries.sorted(by: { LotOrder($0) < LotOrder($1) }) {
            let stands = try !voidRefunds.contains(entry.id) && FamilyCondition.stands(entry, memberships: memberships)
            for event in try of(entry, for: account, stands: stands) { book.apply(event) }
        }
        return book
    }
}

extension LotEvents.LotFields {
    /// The lots debiting move `index` takes first: those its transfer moved, or its entry's
    /// source (a refund's receipt), of the green part it names; only `heldBy`'s, when given.
    func preference(of index: Int, heldBy: NodeID? = nil) -> LotPreference? {
        var preference = LotPreference(source: preferring)
        if let moved = moved[index] {
            preference = LotPreference(expiresAt: moved.expiresAt, green: moved.green)
        }
        if let green = green[index] {
            preference.green = green.green
            preference.exclusive = green.exclusive
        }
        preference.heldBy = heldBy
        return preference == LotPreference() ? nil : preference
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
