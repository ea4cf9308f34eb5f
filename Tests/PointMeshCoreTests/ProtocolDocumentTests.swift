import PointMeshReplication
import Foundation
@testable import PointMeshCore
import Testing

/// docs/protocol.md's tables of kind codes and shared detail tags say what the code does: a
/// kind or tag added, renumbered or renamed without the doc fails here (the worked example once
/// added a kind under a code the expiry policy held).
@Suite struct ProtocolDocumentTests {
    static let protocolText: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)) ?? ""
    }()

    static var lines: [Substring] { protocolText.split(separator: "\n") }

    /// Every kind: `N name` pairs of the entry format's `code` row.
    @Test func theCodeRowNamesEveryKindByItsCode() throws {
        let row = try #require(Self.lines.first { $0.hasPrefix("| code |") })
        let list = try #require(row.split(separator: ":", maxSplits: 1).last?.split(separator: ";").first)
        let documented = list.split(separator: ",").map { pair -> String in
            let words = pair.split(separator: " ")
            return words.prefix(2).joined(separator: " ")
        }
        let code = EntryKinds.all.map { "\($0.code) \($0.name)" }
        #expect(documented == code)
    }

    /// Every kind has its row in the table of details, as `name (code)`.
    @Test func theDetailsTableHasARowForEveryKind() throws {
        guard let start = Self.lines.firstIndex(where: { $0.hasPrefix("| kind | tags |") }) else {
            Issue.record("no table of kinds' details")
            return
        }
        let rows = Self.lines[(start + 2)...].prefix { $0.hasPrefix("|") }
        var documented: [String] = []
        for row in rows {
            let cell = row.split(separator: "|").first.map(String.init) ?? ""
            documented += cell.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let code = EntryKinds.all.map { "\($0.name) (\($0.code))" }
        #expect(documented.sorted() == code.sorted())
    }

    @Test func theSharedTagsTableListsExactlyTheSharedTags() throws {
        guard let start = Self.lines.firstIndex(where: { $0.hasPrefix("Shared details fields") }),
              let header = Self.lines[start...].firstIndex(where: { $0.hasPrefix("| tag | field |") })
        else {
            Issue.record("no table of shared details fields")
            return
        }
        let rows = Self.lines[(header + 2)...].prefix { $0.hasPrefix("|") }
        let documented = rows.compactMap { UInt64($0.split(separator: "|").first?.trimmingCharacters(in: .whitespaces) ?? "") }
        #expect(documented.count == rows.count, "a row whose tag is not a number")
        #expect(Set(documented) == EntryDetails.sharedTags)
        #expect(documented.count == EntryDetails.sharedTags.count, "a tag listed twice")
    }

    /// One message of each kind; the switch below stops compiling when a case is added, so the
    /// new one must be listed here, and then in the doc.
    static let oneOfEach: [GossipMessage] = {
        let node = NodeID(unchecked: "n1"), nonce = [UInt8](repeating: 0, count: Handshake.nonceLength)
        return [
            .hello(nonce: nonce, versions: .supported), .challenge(nonce: nonce, version: 3, mac: []), .proof(mac: []),
            .identify(node: node, address: "a"), .refused(reason: ""), .introduce(node: node, address: "a", exchanges: []),
            .summary(ledgerDigest: "", membershipDigest: ""), .inSync, .state(vector: VersionVector(), members: []), .entries([]),
            .endOfEntries, .sealedEntries(SealedEntries()), .briefSummary(digest: []), .vector(VersionVector(), membershipDigest: ""), .members(complete: false, []),
            .reportedMembers(complete: false, []), .probe(token: ""), .rightsRequest([]), .rightsGrants([]),
        ]
    }()

    static func listed(_ message: GossipMessage) -> Bool {
        switch message {
        case .hello, .challenge, .proof, .identify, .refused, .introduce, .summary, .inSync, .state, .entries, .endOfEntries, .sealedEntries,
             .briefSummary, .vector, .members, .reportedMembers, .probe, .rightsRequest, .rightsGrants: true
        }
    }

    @Test func theMessagesTableListsEveryMessageByItsTypeAndName() throws {
        guard let header = Self.lines.firstIndex(where: { $0.hasPrefix("| type | name | payload | sent by |") }) else {
            Issue.record("no table of messages")
            return
        }
        let rows = Self.lines[(header + 2)...].prefix { $0.hasPrefix("|") }
        let documented = rows.map { row in
            row.split(separator: "|").prefix(2).map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }.joined(separator: " ")
        }
        #expect(Self.oneOfEach.allSatisfy(Self.listed))
        let code = Self.oneOfEach.map { "0x" + String(format: "%02x", $0.typeCode) + " " + $0.name }
        #expect(documented == code)
    }

    @Test func theExchangesTableListsEveryExchange() throws {
        guard let header = Self.lines.firstIndex(where: { $0.hasPrefix("| exchange | messages | who speaks it |") }) else {
            Issue.record("no table of exchanges")
            return
        }
        let rows = Self.lines[(header + 2)...].prefix { $0.hasPrefix("|") }
        let documented = rows.compactMap { $0.split(separator: "|").first?.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
        #expect(documented == GossipExchangeName.allCases.map(\.rawValue))
    }
}
