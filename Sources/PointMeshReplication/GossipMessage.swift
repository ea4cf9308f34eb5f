import PointMeshCore
import PointMeshCrypto

/// Every message of the gossip protocol (byte layouts in docs/protocol.md).
public enum GossipMessage: Hashable, Sendable {
    // Handshake: mutual challenge–response over the cluster key.
    case hello(nonce: [UInt8], versions: ProtocolVersions)
    case challenge(nonce: [UInt8], version: UInt8, mac: [UInt8])
    case proof(mac: [UInt8])
    // After the handshake.
    case identify(node: NodeID, address: String)
    case refused(reason: String)
    /// Version 3's `identify`: who the sender is, and the exchanges it speaks, by name
    /// (`GossipExchangeName`), in its order.
    case introduce(node: NodeID, address: String, exchanges: [String])
    case summary(ledgerDigest: String, membershipDigest: String)
    case inSync
    case state(vector: VersionVector, members: [MemberRecord])
    case entries([LedgerEntry])
    /// Version 5's `entries`: with the seals on some of them and the certificates those name.
    case sealedEntries(SealedEntries)
    case endOfEntries
    /// Version 6's `summary`: one SHA-256 over the ledger and membership digests
    /// (`ReplicationExchange.combinedDigest`), all a settled pair exchanges besides `in_sync`.
    case briefSummary(digest: [UInt8])
    /// Version 6's `state`, without members: the sender's version vector and membership digest,
    /// from which the receiver tells which members the sender lacks.
    case vector(VersionVector, membershipDigest: String)
    /// Version 6: members the receiver lacks (`Membership.records(missingAt:)`), or, `complete`,
    /// every member the sender knows, when it can't tell.
    case members(complete: Bool, [MemberRecord])
    /// Version 7's `members`: each record with what the member last said it holds
    /// (`HoldingsReport`), when it has said.
    case reportedMembers(complete: Bool, [MemberRecord])
    /// The test-only probe exchange's round trip.
    case probe(token: String)
    /// The spending-rights exchange (`RightsExchange`): the accounts asked for, and the grants.
    case rightsRequest([RightsWanted])
    case rightsGrants([LedgerEntry])

    /// Most exchange names one `introduce` message may carry, and the longest name.
    public static let maximumExchanges = 64
    public static let maximumExchangeNameBytes = 64
    /// Most certificates one `sealed_entries` message may carry, and the largest.
    public static let maximumCertificates: UInt32 = 64
    public static let maximumCertificateBytes = 16 << 10

    public var typeCode: UInt8 {
        switch self {
        case .hello: 0x01
        case .challenge: 0x02
        case .proof: 0x03
        case .identify: 0x10
        case .refused: 0x11
        case .introduce: 0x12
        case .summary: 0x20
        case .inSync: 0x21
        case .state: 0x22
        case .entries: 0x23
        case .endOfEntries: 0x24
        case .sealedEntries: 0x25
        case .briefSummary: 0x26
        case .vector: 0x27
        case .members: 0x28
        case .reportedMembers: 0x29
        case .probe: 0x30
        case .rightsRequest: 0x40
        case .rightsGrants: 0x41
        }
    }

    public var name: String {
        switch self {
        case .hello: "hello"
        case .challenge: "challenge"
        case .proof: "proof"
        case .identify: "identify"
        case .refused: "refused"
        case .introduce: "introduce"
        case .summary: "summary"
        case .inSync: "in_sync"
        case .state: "state"
        case .entries: "entries"
        case .sealedEntries: "sealed_entries"
        case .briefSummary: "brief_summary"
        case .vector: "vector"
        case .members: "members"
        case .reportedMembers: "reported_members"
        case .endOfEntries: "end_of_entries"
        case .probe: "probe"
        case .rightsRequest: "rights_request"
        case .rightsGrants: "rights_grants"
        }
    }

    /// The payload bytes (everything after the type byte, before any MAC).
    public func payload() -> [UInt8] {
        var writer = BinaryWriter()
        switch self {
        case .hello(let nonce, let versions):
            writer.raw(nonce)
            writer.u8(versions.lowest)
            writer.u8(versions.highest)
        case .challenge(let nonce, let version, let mac):
            writer.raw(nonce)
            writer.u8(version)
            writer.raw(mac)
        case .proof(let mac):
            writer.raw(mac)
        case .identify(let node, let address):
            writer.string(node.rawValue)
            writer.string(address)
        case .refused(let reason):
            writer.string(reason)
        case .introduce(let node, let address, let names):
            writer.string(node.rawValue)
            writer.string(address)
            writer.u32(UInt32(names.count))
            for name in names { writer.string(name) }
        case .probe(let token):
            writer.string(token)
        case .summary(let ledgerDigest, let membershipDigest):
            writer.string(ledgerDigest)
            writer.string(membershipDigest)
        case .inSync, .endOfEntries:
            break
        case .state(let vector, let members):
            Self.write(vector, to: &writer)
            Self.write(members, to: &writer)
        case .briefSummary(let digest):
            writer.raw(digest)
        case .vector(let vector, let membershipDigest):
            Self.write(vector, to: &writer)
            writer.string(membershipDigest)
        case .members(let complete, let members):
            writer.u8(complete ? 1 : 0)
            Self.write(members, to: &writer)
        case .reportedMembers(let complete, let members):
            writer.u8(complete ? 1 : 0)
            Self.write(members, to: &writer, withHoldings: true)
        case .entries(let entries), .rightsGrants(let entries):
            writer.u32(UInt32(entries.count))
            for entry in entries { writer.lengthPrefixed(EntryCoding.encode(entry)) }
        case .sealedEntries(let sealed):
            writer.u32(UInt32(sealed.entries.count))
            for entry in sealed.entries { writer.lengthPrefixed(EntryCoding.encode(entry)) }
            let sealedAt = sealed.entries.indices.filter { sealed.seals[sealed.entries[$0].id] != nil }
            writer.u32(UInt32(sealedAt.count))
            for index in sealedAt {
                writer.u32(UInt32(index))
                writer.lengthPrefixed(sealed.seals[sealed.entries[index].id]?.encoded ?? [])
            }
            let certificates = sealed.certificates.sorted { $0.key < $1.key }
            writer.u32(UInt32(certificates.count))
            for (_, certificate) in certificates { writer.lengthPrefixed(certificate) }
        case .rightsRequest(let wanted):
            writer.u32(UInt32(wanted.count))
            for item in wanted {
                switch item.subject {
                case .account(let account):
                    writer.u8(0)
                    writer.string(account.rawValue)
                case .issuing(let month, let points):
                    writer.u8(1)
                    writer.string(month.description)
                    writer.i64(points.value)
                }
                writer.string(item.request.rawValue)
            }
        }
        return writer.bytes
    }

    /// Decodes a payload of message type `type`; the payload must be consumed exactly.
    public static func decode(type: UInt8, payload: [UInt8]) throws(DecodingError) -> GossipMessage {
        var reader = BinaryReader(payload)
        let message: GossipMessage
        switch type {
        case 0x01:
            let nonce = try reader.raw(Handshake.nonceLength)
            let lowest = try reader.u8(), highest = try reader.u8()
            guard lowest <= highest else { throw .invalid("version range \(lowest)–\(highest)") }
            message = .hello(nonce: nonce, versions: ProtocolVersions(lowest, highest))
        case 0x02:
            message = .challenge(nonce: try reader.raw(Handshake.nonceLength), version: try reader.u8(), mac: try reader.raw(HMACSHA256.length))
        case 0x03: message = .proof(mac: try reader.raw(HMACSHA256.length))
        case 0x10: message = .identify(node: try reader.identifier(), address: try reader.string())
        case 0x11: message = .refused(reason: try reader.string())
        case 0x12:
            let node: NodeID = try reader.identifier()
            let address = try reader.string()
            let count = try reader.u32()
            guard count <= maximumExchanges else { throw .invalid("exchange count \(count)") }
            var names: [String] = []
            for _ in 0..<count {
                let name = try reader.string()
                guard !name.isEmpty, name.utf8.count <= maximumExchangeNameBytes else { throw .invalid("exchange name of \(name.utf8.count) bytes") }
                names.append(name)
            }
            message = .introduce(node: node, address: address, exchanges: names)
        case 0x30: message = .probe(token: try reader.string())
        case 0x20: message = .summary(ledgerDigest: try reader.string(), membershipDigest: try reader.string())
        case 0x21: message = .inSync
        case 0x22:
            let vector = try vector(&reader)
            message = .state(vector: vector, members: try members(&reader))
        case 0x26: message = .briefSummary(digest: try reader.raw(ReplicationExchange.combinedDigestLength))
        case 0x27:
            let vector = try vector(&reader)
            message = .vector(vector, membershipDigest: try reader.string())
        case 0x28:
            let complete = try reader.u8()
            guard complete <= 1 else { throw .invalid("complete flag") }
            message = .members(complete: complete == 1, try members(&reader))
        case 0x29:
            let complete = try reader.u8()
            guard complete <= 1 else { throw .invalid("complete flag") }
            message = .reportedMembers(complete: complete == 1, try members(&reader, withHoldings: true))
        case 0x23: message = .entries(try entries(&reader))
        case 0x25:
            var sealed = SealedEntries(try entries(&reader))
            let seals = try reader.u32()
            guard Int(seals) <= sealed.entries.count else { throw .invalid("\(seals) seals on \(sealed.entries.count) entries") }
            for _ in 0..<seals {
                let index = Int(try reader.u32())
                guard sealed.entries.indices.contains(index) else { throw .invalid("a seal on entry \(index)") }
                sealed.seals[sealed.entries[index].id] = try EntrySeal(decoding: try reader.lengthPrefixed())
            }
            let certificates = try reader.u32()
            guard certificates <= maximumCertificates else { throw .invalid("\(certificates) certificates") }
            for _ in 0..<certificates {
                let certificate = try reader.lengthPrefixed()
                guard !certificate.isEmpty, certificate.count <= maximumCertificateBytes else { throw .invalid("a certificate of \(certificate.count) bytes") }
                // The receiver names each certificate by its own hash of it: a sender can't
                // make one answer for another.
                sealed.certificates[CertificateFingerprint.of(certificate: certificate)] = certificate
            }
            message = .sealedEntries(sealed)
        case 0x41: message = .rightsGrants(try entries(&reader))
        case 0x40:
            let count = try reader.u32()
            guard count <= RightsWanted.maximumPerRequest else { throw .invalid("rights request of \(count) accounts") }
            var wanted: [RightsWanted] = []
            for _ in 0..<count {
                let subject: RightsSubject
                switch try reader.u8() {
                case 0:
                    subject = .account(try reader.identifier())
                case 1:
                    let text = try reader.string()
                    guard let month = CalendarMonth(text) else { throw .invalid("month \(text.debugDescription)") }
                    let points = try reader.i64()
                    guard points > 0, points <= Limits.maximumPoints.value else { throw .invalid("rights to issue \(points)") }
                    subject = .issuing(month, Points(points))
                case let other:
                    throw .invalid("rights subject \(other)")
                }
                wanted.append(RightsWanted(subject, request: try reader.identifier()))
            }
            message = .rightsRequest(wanted)
        case 0x24: message = .endOfEntries
        default: throw .invalid("unknown message type \(type)")
        }
        guard reader.isAtEnd else { throw .invalid("\(reader.remaining) trailing bytes in \(message.name)") }
        return message
    }

    private static func write(_ vector: VersionVector, to writer: inout BinaryWriter) {
        let origins = vector.sequences.sorted { $0.key < $1.key }
        writer.u32(UInt32(origins.count))
        for (origin, sequence) in origins {
            writer.string(origin.rawValue)
            writer.i64(sequence)
        }
    }

    private static func write(_ members: [MemberRecord], to writer: inout BinaryWriter, withHoldings: Bool = false) {
        writer.u32(UInt32(members.count))
        for member in members {
            writer.string(member.id.rawValue)
            writer.string(member.address)
            writer.u8(member.retired ? 1 : 0)
            guard withHoldings else { continue }
            guard let held = member.holdings else {
                writer.u8(0)
                continue
            }
            writer.u8(1)
            writer.i64(held.at.wallMilliseconds)
            writer.i64(held.at.logical)
            writer.i64(held.written)
            writer.i64(held.holdsAllBefore)
            writer.i64(Int64(bitPattern: held.considered))
            guard let seal = held.seal else {
                writer.u8(0)
                continue
            }
            writer.u8(1)
            writer.lengthPrefixed(seal.encoded)
        }
    }

    /// A count of origins, then each origin's id and sequence.
    private static func vector(_ reader: inout BinaryReader) throws(DecodingError) -> VersionVector {
        var sequences: [NodeID: Int64] = [:]
        let origins = try reader.u32()
        guard Int(origins) <= reader.remaining / 10 else { throw .invalid("origin count \(origins)") }
        for _ in 0..<origins {
            let origin: NodeID = try reader.identifier()
            let sequence = try reader.i64()
            guard sequence >= 0, sequence <= EntryBounds.maximumSequence else { throw .invalid("sequence \(sequence)") }
            sequences[origin] = sequence
        }
        return VersionVector(sequences)
    }

    /// A count of members, then each member's id, address and retired flag; `withHoldings`
    /// (`reported_members`), then a flag and, if set, its `HoldingsReport` with a flag and, if
    /// set, its seal.
    private static func members(_ reader: inout BinaryReader, withHoldings: Bool = false) throws(DecodingError) -> [MemberRecord] {
        let count = try reader.u32()
        guard Int(count) <= reader.remaining / 5 else { throw .invalid("member count \(count)") }
        var members: [MemberRecord] = []
        for _ in 0..<count {
            let id: NodeID = try reader.identifier()
            let address = try reader.string()
            let retired = try reader.u8()
            guard retired <= 1 else { throw .invalid("retired flag") }
            var holdings: HoldingsReport?
            if withHoldings {
                let reported = try reader.u8()
                guard reported <= 1 else { throw .invalid("holdings flag") }
                if reported == 1 {
                    let at = HLCTimestamp(wallMilliseconds: try reader.i64(), logical: try reader.i64())
                    let written = try reader.i64(), before = try reader.i64()
                    guard at.logical >= 0, written >= 0, written <= EntryBounds.maximumSequence, before <= at.wallMilliseconds else {
                        throw .invalid("holdings report")
                    }
                    let considered = UInt64(bitPattern: try reader.i64())
                    let sealed = try reader.u8()
                    guard sealed <= 1 else { throw .invalid("report seal flag") }
                    holdings = HoldingsReport(at: at, written: written, holdsAllBefore: before, considered: considered,
                                              seal: sealed == 1 ? try EntrySeal(decoding: try reader.lengthPrefixed()) : nil)
                }
            }
            members.append(MemberRecord(id: id, address: address, retired: retired == 1, holdings: holdings))
        }
        return members
    }

    /// A count of entries, then each length-prefixed.
    private static func entries(_ reader: inout BinaryReader) throws(DecodingError) -> [LedgerEntry] {
        let count = try reader.u32()
        guard Int(count) <= reader.remaining / 50 else { throw .invalid("entry count \(count)") }
        var entries: [LedgerEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count { entries.append(try EntryCoding.decode(try reader.lengthPrefixed())) }
        return entries
    }
}
