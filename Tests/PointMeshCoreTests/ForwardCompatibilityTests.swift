import PointMeshCore
import PointMeshReplication
import Testing

private let upgraded = NodeID(unchecked: "upgraded"), old = NodeID(unchecked: "old"), third = NodeID(unchecked: "third")

/// An entry as a newer release would write it: a kind this release does not know (code 99),
/// a system account it has never seen, a details field of a tag no kind here reads, and bytes
/// after the fixed fields from a newer entry format. Built by hand, as a test-only encoder.
func futureEntry(sequence: Int64, account: String = "alice", points: Int64 = 25) -> LedgerEntry {
    var details = DetailsWriter()
    details.text(1, "stamp-card-\(sequence)")
    details.number(41, 7)
    details.field(42) { $0.raw([0xde, 0xad, 0xbe, 0xef]) }
    return LedgerEntry(
        id: EntryID(origin: upgraded, sequence: sequence), timestamp: HLCTimestamp(wallMilliseconds: 1_000 + sequence, logical: 0),
        code: EntryCode(99), idempotencyKey: IdempotencyKey(scope: "stamp-card", id: "S\(sequence)"),
        requestHash: RequestHash(canonical: "future \(sequence)"),
        moves: [Move(debit: LedgerAccount(unchecked: "@stamp-cards:upgraded"), credit: LedgerAccount(AccountID(unchecked: account)),
                     amount: Points(points), userData: 5)],
        details: details.details, flags: 3, trailing: [0x07, 0x01, 0x02])
}

@Suite struct EntryCodingTests {
    @Test func encodingWhatWasDecodedGivesBackTheSameBytes() throws {
        let entry = futureEntry(sequence: 1)
        let bytes = EntryCoding.encode(entry)
        let decoded = try EntryCoding.decode(bytes)
        #expect(decoded == entry)
        #expect(EntryCoding.encode(decoded) == bytes)
        #expect(decoded.trailing == [0x07, 0x01, 0x02], "a newer format's bytes are kept")
        #expect(try decoded.details.reader().value(42) == [0xde, 0xad, 0xbe, 0xef], "an unknown detail is kept")
    }

    /// Details are written in place with each length put in front afterwards: the bytes must be
    /// `tag | length | value` exactly, for nested groups and for lengths of two varint bytes.
    @Test func detailsAreTagLengthValueAtEveryLengthAndDepth() throws {
        let long = String(repeating: "x", count: 200)
        var writer = DetailsWriter()
        writer.number(1, -3)
        writer.group(2) { group in
            group.text(1, long)
            group.group(2) { $0.number(1, 300) }
        }
        writer.text(3, "end")
        let inner: [UInt8] = [1, 2, 0xd8, 0x04]  // 300, zig-zag 600
        let groupValue: [UInt8] = [1, 0xc8, 0x01] + Array(long.utf8) + [2, UInt8(inner.count)] + inner
        let expected: [UInt8] = [1, 1, 5] + [2, UInt8(groupValue.count & 0x7f) | 0x80, UInt8(groupValue.count >> 7)] + groupValue
            + [3, 3] + Array("end".utf8)
        #expect(writer.details.bytes == expected)
        let reader = try writer.details.reader()
        #expect(try reader.number(1) == -3)
        #expect(try reader.text(3) == "end")
        let group = try EntryDetails(bytes: try #require(reader.value(2))).reader()
        #expect(try group.text(1) == long)
    }

    /// An entry of a newer format (2) comes back out as format 2 with its extra bytes: a node
    /// that only knows format 1 forwards it as received, and its hash chain agrees.
    @Test func aNewerFormatIsForwardedAsReceived() throws {
        var newer = futureEntry(sequence: 1)
        newer.format = 2
        let bytes = EntryCoding.encode(newer)
        #expect(bytes.first == 2)
        let decoded = try EntryCoding.decode(bytes)
        #expect(decoded.format == 2 && EntryCoding.encode(decoded) == bytes)
        var writer = MemoryLedger(origin: upgraded), relay = MemoryLedger(origin: old)
        _ = writer.apply([newer])
        _ = relay.apply([decoded])
        #expect(relay.ledgerDigest() == writer.ledgerDigest())
    }

    /// Numbers from a peer are bounded like a client's, so no sum of them can overflow.
    @Test func outOfRangeNumbersFromAPeerAreRefused() {
        var huge = futureEntry(sequence: 1)
        huge.moves[0].amount = Points(Int64.max)
        #expect(throws: DecodingError.self) { try EntryCoding.decode(EntryCoding.encode(huge)) }
        var farAhead = futureEntry(sequence: 1)
        farAhead.id.sequence = Int64.max
        #expect(throws: DecodingError.self) { try EntryCoding.decode(EntryCoding.encode(farAhead)) }
        let state = GossipMessage.state(vector: VersionVector([old: Int64.max]), members: []).payload()
        #expect(throws: DecodingError.self) { try GossipMessage.decode(type: 0x22, payload: state) }
    }

    @Test func nonMinimalVarintsAndBadFieldsAreRefused() {
        var bytes = EntryCoding.encode(futureEntry(sequence: 1))
        // The format varint `1` written in two bytes (0x81 0x00) decodes to the same number but
        // would not re-encode to the same bytes: refused.
        bytes.replaceSubrange(0..<1, with: [0x81, 0x00])
        #expect(throws: DecodingError.self) { try EntryCoding.decode(bytes) }
        var badAccount = futureEntry(sequence: 1)
        badAccount.moves[0].credit = LedgerAccount(unchecked: "not an id")
        #expect(throws: DecodingError.self) { try EntryCoding.decode(EntryCoding.encode(badAccount)) }
        #expect(throws: DecodingError.self) { try EntryCoding.decode(Array(EntryCoding.encode(futureEntry(sequence: 1)).prefix(20))) }
    }

    /// An earning is smaller on the wire than release 0.2's fixed layout (~150 bytes).
    @Test func anEarningTakesAboutAHundredBytes() {
        let write = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R-123456"), account: AccountID(unchecked: "A-1234"), amount: Fen(12_345)))
        let entry = LedgerEntry(
            id: EntryID(origin: NodeID(unchecked: "source"), sequence: 123_456), timestamp: HLCTimestamp(wallMilliseconds: 1_700_000_000_000, logical: 0),
            code: Earn.code, idempotencyKey: write.key, requestHash: write.hash,
            moves: Earn.moves(customer: AccountID(unchecked: "A-1234"), earned: Points(123), repaid: .zero, store: NodeID(unchecked: "source")),
            details: Earn.details(receipt: ReceiptID(unchecked: "R-123456"), amount: Fen(12_345), items: [], balanceAfter: Points(123)))
        #expect(EntryCoding.encode(entry).count < 130)
    }
}

@Suite struct ForwardCompatibilityTests {
    /// A node that doesn't know a kind applies its moves, keeps it, forwards it byte for byte,
    /// agrees on the digest with upgraded nodes, and takes the origin's later entries after it.
    @Test func anUnknownKindIsAppliedKeptAndForwardedUnchanged() throws {
        let entries = [futureEntry(sequence: 1), futureEntry(sequence: 2, account: "bob", points: 10)]
        var earning = MemoryLedger(origin: upgraded)
        _ = earning.apply(entries)
        let later = try earning.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "alice"),
                                                                              amount: Fen(1_000))), now: 10_000)
        guard case .append(let laterEntry) = later else {
            Issue.record("expected a new entry")
            return
        }
        // The old node receives the bytes, as gossip delivers them.
        let wire = GossipMessage.entries(entries + [laterEntry]).payload()
        guard case .entries(let received) = try GossipMessage.decode(type: 0x23, payload: wire) else {
            Issue.record("expected entries")
            return
        }
        var oldNode = MemoryLedger(origin: old)
        #expect(oldNode.apply(received) == 3, "nothing stalls behind the unknown kind")
        #expect(oldNode.accountState(of: AccountID(unchecked: "alice"), at: 1_000_000_000).balance == Points(35))
        #expect(oldNode.accountState(of: AccountID(unchecked: "bob"), at: 1_000_000_000).balance == Points(10))
        #expect(oldNode.balance(BalanceKey(LedgerAccount(unchecked: "@stamp-cards:upgraded"))).posted == Points(-35))
        // It forwards them to a third node byte for byte.
        let forwarded = GossipMessage.entries(oldNode.entries(of: upgraded, after: 0, limit: 10)).payload()
        #expect(forwarded == wire)
        var thirdNode = MemoryLedger(origin: third)
        guard case .entries(let relayed) = try GossipMessage.decode(type: 0x23, payload: forwarded) else { return }
        _ = thirdNode.apply(relayed)
        #expect(thirdNode.ledgerDigest() == earning.ledgerDigest())
        #expect(oldNode.ledgerDigest() == earning.ledgerDigest())
        // A replay of the unknown kind's key still collapses duplicates by the usual rule.
        #expect(try oldNode.countingEntry(for: IdempotencyKey(scope: "stamp-card", id: "S1")) == entries[0])
    }

    /// The digest covers the bytes: a node that held the same ids but had changed one byte of
    /// an entry it could not read (here, an unknown detail) disagrees with the others.
    @Test func theDigestCoversEveryByteOfEveryEntry() {
        var faithful = MemoryLedger(origin: old), altered = MemoryLedger(origin: old)
        var changed = futureEntry(sequence: 1)
        var details = DetailsWriter()
        details.text(1, "stamp-card-1")
        details.number(41, 8)
        details.field(42) { $0.raw([0xde, 0xad, 0xbe, 0xef]) }
        changed.details = details.details
        _ = faithful.apply([futureEntry(sequence: 1)])
        _ = altered.apply([changed])
        #expect(faithful.versionVector() == altered.versionVector())
        #expect(faithful.ledgerDigest() != altered.ledgerDigest())
        var trailing = futureEntry(sequence: 1)
        trailing.trailing = [0x07, 0x01, 0x03]
        var other = MemoryLedger(origin: old)
        _ = other.apply([trailing])
        #expect(other.ledgerDigest() != faithful.ledgerDigest())
        #expect(MemoryLedger(origin: old).ledgerDigest() == MemoryLedger(origin: upgraded).ledgerDigest(), "empty ledgers agree")
    }
}
