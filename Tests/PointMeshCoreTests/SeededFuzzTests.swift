import PointMeshCore
import PointMeshJSON
import PointMeshReplication
import Testing

/// Mutates valid inputs at random (seeded, so a failure replays): byte flips, insertions,
/// deletions, repeats and truncations. The short form of the libFuzzer runs in Tests/Fuzz
/// (docs/benchmarks.md), run by every `swift test`.
struct Mutator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...(next() % 4) {
            let position = bytes.isEmpty ? 0 : Int(next() % UInt64(bytes.count))
            switch next() % 6 {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(truncatingIfNeeded: 1 << (next() % 8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: next()), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int(next() % 16))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4: bytes = Array(bytes.prefix(position))
            default:
                let structural = Array("{}[]\",:0-9e.\\u".utf8)
                if !bytes.isEmpty { bytes[position] = structural[Int(next() % UInt64(structural.count))] }
            }
        }
        return bytes
    }
}

@Suite struct SeededFuzzTests {
    static let jsonSeeds = [
        #"{"receipt_id":"R1","account_id":"alice","amount_fen":12345,"items":[{"sku":"s","category":"c","amount_fen":100}]}"#,
        #"{"batch_id":"B","action":"extend_expiry","reason":"r","reference":"x","expiring_from":"2026-01-01T00:00:00Z","expiring_to":"2026-02-01T00:00:00Z","days":5}"#,
        #"{"version_id":"v","rule":"months_end","months":12,"effective_at":"2027-01-01T00:00:00+08:00"}"#,
    ].map { Array($0.utf8) }

    /// The JSON parser and every kind's request reader take mutated bodies without trapping; a
    /// body a kind accepts reads the same way twice (key and hash), and the parser accepts what
    /// the kind does; anything the parser accepts serializes and parses back to the same value.
    @Test func jsonParserSurvivesMutatedInput() {
        var mutator = Mutator(seed: 0x9E37_79B9_7F4A_7C15)
        var accepted = 0
        for round in 0..<20_000 {
            let input = mutator.mutate(Self.jsonSeeds[round % Self.jsonSeeds.count])
            for kind in EntryKinds.all {
                guard let first = try? PreparedWrite.parse(kind, body: input) else { continue }
                accepted += 1
                let again = try? PreparedWrite.parse(kind, body: input)
                #expect(again?.key == first.key && again?.hash == first.hash, "round \(round): \(kind.name) reads one body two ways")
                if !input.allSatisfy({ [0x20, 0x09, 0x0a, 0x0d].contains($0) }) {
                    #expect((try? JSONParser.parse(input)) != nil, "round \(round): \(kind.name) accepted a body the parser refuses")
                }
            }
            if let value = try? JSONParser.parse(input) {
                #expect((try? JSONParser.parse(Array(value.serialized.utf8))) == value,
                        "round \(round): \(String(decoding: input, as: UTF8.self)) → \(value.serialized)")
            }
        }
        #expect(accepted > 100, "the mutations still reach the kinds' readers: \(accepted) accepted")
    }

    /// Found by the test above: `1e345` parsed to infinity and serialized as `inf`, which is
    /// not JSON. A number beyond a double's range is refused.
    @Test func numbersBeyondADoubleAreRefused() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(#"{"amount_fen":1e345}"#.utf8)) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(("1" + String(repeating: "0", count: 400)).utf8)) }
        #expect((try? JSONParser.parse(Array("1e300".utf8))) == .number(1e300))
    }

    /// A message framed and read back by a fresh pair of codecs.
    static func reframed(_ message: GossipMessage) -> GossipMessage? {
        var sender = FrameCodec(role: .initiator), receiver = FrameCodec(role: .responder)
        receiver.append(sender.encode(message))
        return try? receiver.next()
    }

    /// The frame, message and entry decoders take mutated frames and entries without trapping;
    /// an entry that decodes encodes back to the same bytes, and a message that decodes frames
    /// back to the same message. Enough of the mutations decode for those checks to mean
    /// something.
    @Test func gossipDecodersSurviveMutatedInput() throws {
        var source = MemoryLedger(origin: NodeID(unchecked: "fz"))
        _ = try source.write(PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "a"),
                                                                  amount: Fen(1_000))), now: 1_000)
        let entry = try #require(source.allEntries.first)
        var encoder = FrameCodec(role: .initiator)
        let seeds = [EntryCoding.encode(entry), encoder.encode(.entries([entry])),
                     encoder.encode(.summary(ledgerDigest: "abc", membershipDigest: "def"))]
        #expect(try EntryCoding.decode(seeds[0]) == entry)
        var mutator = Mutator(seed: 0x2545_F491_4F6C_DD1D)
        var entries = 0, messages = 0
        for round in 0..<20_000 {
            let input = mutator.mutate(seeds[round % seeds.count])
            var codec = FrameCodec(role: .responder)
            codec.append(input)
            for _ in 0..<8 {
                guard let message = try? codec.next() else { break }
                messages += 1
                #expect(Self.reframed(message) == message, "round \(round): a message must read back as it was framed")
            }
            if let type = input.first { _ = try? GossipMessage.decode(type: type, payload: Array(input.dropFirst())) }
            if let decoded = try? EntryCoding.decode(input) {
                entries += 1
                #expect(EntryCoding.encode(decoded) == input, "round \(round): an entry must re-encode byte for byte")
                _ = try? LotEvents.of(decoded, accounts: decoded.customerAccounts)
            }
        }
        #expect(entries > 500, "the mutations still reach a decoded entry: \(entries) decoded")
        #expect(messages > 500, "the mutations still reach a decoded message: \(messages) decoded")
    }
}
