import PointMeshCore

/// Seals on entries (`EntrySeal`): kept with the entry they are on, passed on with it, and the
/// certificates they name, by fingerprint.
extension LedgerReader {
    /// The seal column and the certificates table (migration "entry-seals").
    static let sealSchema = """
        ALTER TABLE ledger_entries ADD COLUMN seal BLOB;
        CREATE TABLE certificates (
            fingerprint BLOB NOT NULL PRIMARY KEY,
            der         BLOB NOT NULL
        ) WITHOUT ROWID;
        """

    /// Up to `limit` entries of `origin` after sequence `after`, in sequence order, with their
    /// seals and the certificates those name.
    public func sealedEntries(of origin: NodeID, after: Int64, limit: Int) throws -> SealedEntries {
        var seals: [EntryID: EntrySeal] = [:]
        let entries = try connection.all("SELECT body, seal FROM ledger_entries WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
                                         .text(origin.rawValue), .integer(after), .integer(Int64(limit))) { row in
            let entry = try Self.decode(row)
            let seal = row.blob(1)
            if !seal.isEmpty { seals[entry.id] = try EntrySeal(decoding: seal) }
            return entry
        }
        return try SealedEntries.gathering(entries, seal: { seals[$0] }, certificate: certificate)
    }

    /// The certificate with this fingerprint, if one of the seals held names it.
    public func certificate(_ fingerprint: CertificateFingerprint) throws -> [UInt8]? {
        try connection.first("SELECT der FROM certificates WHERE fingerprint = ?", .blob(fingerprint.bytes)) { $0.blob(0) }
    }

    /// Every certificate seals held name.
    func certificates() throws -> [[UInt8]] {
        try connection.all("SELECT der FROM certificates") { $0.blob(0) }
    }

    /// The seal on entry `id`, if it has one.
    public func seal(on id: EntryID) throws -> EntrySeal? {
        let bytes = try connection.first("SELECT seal FROM ledger_entries WHERE origin = ? AND seq = ?", .text(id.origin.rawValue), .integer(id.sequence)) {
            $0.blob(0)
        }
        guard let bytes, !bytes.isEmpty else { return nil }
        return try EntrySeal(decoding: bytes)
    }

    /// The hash chain of `origin` at entry `sequence` (held).
    func chain(of origin: NodeID, at sequence: Int64) throws -> OriginChain? {
        try connection.first("SELECT chain FROM ledger_entries WHERE origin = ? AND seq = ?", .text(origin.rawValue), .integer(sequence)) {
            OriginChain(sequence: sequence, hash: $0.blob(0))
        }
    }
}

extension LedgerWriter {
    /// Keeps `seals` on their entries (stored already) and the certificates they name.
    func keep(_ seals: [EntryID: EntrySeal], certificates: [CertificateFingerprint: [UInt8]]) throws {
        for (id, seal) in seals { try put(seal, on: id) }
        for fingerprint in Set(seals.values.map(\.certificate)) {
            guard let certificate = certificates[fingerprint] else { continue }
            try keep(certificate: certificate)
        }
    }

    /// Stores `seal` on entry `id` (held).
    private func put(_ seal: EntrySeal, on id: EntryID) throws {
        try connection.run("UPDATE ledger_entries SET seal = ? WHERE origin = ? AND seq = ?",
                           .blob(seal.encoded), .text(id.origin.rawValue), .integer(id.sequence))
    }

    func keep(certificate: [UInt8]) throws {
        try connection.run("INSERT OR IGNORE INTO certificates (fingerprint, der) VALUES (?, ?)",
                           .blob(CertificateFingerprint.of(certificate: certificate).bytes), .blob(certificate))
    }

    /// Seals `origin`'s entries `sequences` that `EntrySeal.isSealed` names, the last of them as
    /// the end of a commit (`last`: its chain, as the transaction has it).
    func seal(_ sequences: ClosedRange<Int64>, of origin: NodeID, last: OriginChain, with sealer: any EntrySealer) throws {
        for sequence in sequences where EntrySeal.isSealed(sequence: sequence, isLastOfCommit: sequence == sequences.upperBound) {
            let chain = sequence == last.sequence ? last : try reader.chain(of: origin, at: sequence)
            guard let chain else { continue }
            try put(try sealer.seal(EntrySeal.message(origin: origin, chain: chain)), on: EntryID(origin: origin, sequence: sequence))
        }
    }

    /// Makes `sealer` this node's: keeps its certificate, and seals what this node wrote before
    /// it had one (every `EntrySeal.interval`th entry and the last), so peers that take only
    /// sealed entries can take its history.
    func adopt(_ sealer: any EntrySealer, origin: NodeID) throws {
        try keep(certificate: sealer.certificate)
        let unsealed = try connection.all("""
            SELECT seq, chain FROM ledger_entries WHERE origin = ?1 AND seal IS NULL
              AND (seq % ?2 = 0 OR seq = (SELECT max(seq) FROM ledger_entries WHERE origin = ?1))
            """, .text(origin.rawValue), .integer(EntrySeal.interval)) { OriginChain(sequence: $0.int64(0), hash: $0.blob(1)) }
        for chain in unsealed {
            try put(try sealer.seal(EntrySeal.message(origin: origin, chain: chain)), on: EntryID(origin: origin, sequence: chain.sequence))
        }
    }
}
