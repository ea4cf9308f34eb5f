/// The binary form of a `LedgerEntry`, the same on the wire and in the store (docs/protocol.md,
/// "Entry"). Integers are LEB128 varints, strings and blobs carry a varint length.
///
///     varint format (1) | text origin | varint sequence | varint wall ms | varint logical
///     varint code | text key scope | text key id | 32 bytes request hash | varint flags
///     varint move count | moves | varint-length details | trailing bytes (kept)
///
/// A move is `text debit | text credit | varint amount | varint asset | varint phase`, then for
/// phases 2 (post) and 3 (void) the pending move's `text origin | varint sequence | varint
/// index`, then `varint user data`.
///
/// Rules for growth: the fixed part only ever grows at its end, so a reader keeps whatever
/// follows the fields it knows (`trailing`) and writes it back unchanged; a kind's own fields
/// are tagged details, skipped by readers that do not know them and kept. Decoding is strict
/// about form (minimal varints, known phases), so encoding what was decoded gives back the
/// same bytes: a node forwards every entry byte for byte as it received it.
public enum EntryCoding {
    public static let format: UInt64 = 1

    public static func encode(_ entry: LedgerEntry) -> [UInt8] {
        var writer = BinaryWriter()
        write(entry, to: &writer)
        return writer.bytes
    }

    public static func write(_ entry: LedgerEntry, to writer: inout BinaryWriter) {
        writer.varint(entry.format)
        writer.text(entry.id.origin.rawValue)
        writer.count(entry.id.sequence)
        writer.count(entry.timestamp.wallMilliseconds)
        writer.count(entry.timestamp.logical)
        writer.varint(entry.code.value)
        writer.text(entry.idempotencyKey.scope)
        writer.text(entry.idempotencyKey.id)
        writer.raw(entry.requestHash.bytes)
        writer.varint(entry.flags)
        writer.varint(UInt64(entry.moves.count))
        for move in entry.moves {
            writer.text(move.debit.name)
            writer.text(move.credit.name)
            writer.count(move.amount.value)
            writer.varint(move.asset.code)
            switch move.phase {
            case .posted: writer.varint(0)
            case .pending: writer.varint(1)
            case .post(let ref): write(ref, phase: 2, to: &writer)
            case .void(let ref): write(ref, phase: 3, to: &writer)
            }
            writer.varint(move.userData)
        }
        writer.lengthPrefixed(entry.details.bytes)
        writer.raw(entry.trailing)
    }

    private static func write(_ ref: MoveRef, phase: UInt64, to writer: inout BinaryWriter) {
        writer.varint(phase)
        writer.text(ref.entry.origin.rawValue)
        writer.count(ref.entry.sequence)
        writer.count(Int64(ref.index))
    }

    /// Decodes one entry that fills `bytes` exactly (what follows the known fields is kept as
    /// `trailing`).
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> LedgerEntry {
        var reader = BinaryReader(bytes)
        let version = try reader.varint()
        guard version >= 1 else { throw .invalid("entry format \(version)") }
        let origin: NodeID = try reader.textIdentifier()
        let sequence = try reader.count()
        guard sequence > 0, sequence <= EntryBounds.maximumSequence else { throw .invalid("sequence \(sequence)") }
        let wall = try reader.count(), logical = try reader.count()
        guard wall <= EntryBounds.maximumClock, logical <= EntryBounds.maximumClock else { throw .invalid("clock \(wall).\(logical)") }
        let code = EntryCode(try reader.varint())
        let scope = try reader.text()
        let keyID = try reader.text()
        guard !scope.isEmpty, !scope.contains(":") else { throw .invalid("idempotency scope \(scope.debugDescription)") }
        do { try IdentifierError.check(keyID) } catch { throw .invalid("idempotency id \(keyID.debugDescription)") }
        let hash = RequestHash(bytes: try reader.raw(32))
        let flags = try reader.varint()
        let moveCount = try reader.varint()
        guard moveCount <= UInt64(reader.remaining / 6) else { throw .invalid("move count \(moveCount)") }
        var moves: [Move] = []
        for _ in 0..<moveCount {
            let debit = try LedgerAccount(validating: try reader.text())
            let credit = try LedgerAccount(validating: try reader.text())
            let amount = Points(try reader.count())
            // Bounded like a client's amount, so no sum of moves can overflow.
            guard amount <= Limits.maximumPoints else { throw .invalid("move amount \(amount)") }
            let asset = Asset(code: try reader.varint())
            let phase: MovePhase
            switch try reader.varint() {
            case 0: phase = .posted
            case 1: phase = .pending
            case let code where code == 2 || code == 3:
                let origin: NodeID = try reader.textIdentifier()
                let sequence = try reader.count(), index = try reader.count()
                guard sequence <= EntryBounds.maximumSequence, index <= Int64(UInt16.max) else { throw .invalid("pending move reference") }
                let ref = MoveRef(entry: EntryID(origin: origin, sequence: sequence), index: Int(index))
                phase = code == 2 ? .post(ref) : .void(ref)
            case let other: throw .invalid("move phase \(other)")
            }
            moves.append(Move(debit: debit, credit: credit, amount: amount, asset: asset, phase: phase, userData: try reader.varint()))
        }
        let details = EntryDetails(bytes: try reader.lengthPrefixed())
        _ = try details.reader()
        let trailing = try reader.raw(reader.remaining)
        return LedgerEntry(
            id: EntryID(origin: origin, sequence: sequence), timestamp: HLCTimestamp(wallMilliseconds: wall, logical: logical),
            code: code, idempotencyKey: IdempotencyKey(scope: scope, id: keyID), requestHash: hash, moves: moves,
            details: details, flags: flags, trailing: trailing, format: version)
    }
}

/// Bounds on what a peer may send, far beyond any real ledger, so that no sum of received
/// numbers can overflow (a trap would take the node down).
public enum EntryBounds {
    /// 2^48 entries from one node: 8,900 years at a million a day.
    public static let maximumSequence: Int64 = 1 << 48
    /// Clock readings (wall milliseconds, logical counter): until the year 10000 and beyond.
    public static let maximumClock: Int64 = 1 << 50
}
