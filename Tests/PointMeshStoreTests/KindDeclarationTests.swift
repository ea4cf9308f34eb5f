import Foundation
import PointMeshCore
import Testing

/// The store reads what it must know of kinds from their declarations (`EntryKindRule.folds`,
/// `conditions`, `countsOnlyWith`, `dependentsLink`), so a new kind needs no store change: no
/// store file names a kind's type, except the upgrade of release 0.2's rows (`LegacyEntries`),
/// which rewrites them as the kinds of today.
@Suite struct KindDeclarationTests {
    @Test func noStoreFileNamesAKind() throws {
        let store = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/PointMeshStore")
        let files = try FileManager.default.contentsOfDirectory(atPath: store.path).filter { $0.hasSuffix(".swift") && $0 != "LegacyEntries.swift" }
        #expect(files.count > 10)
        let kinds = EntryKinds.all.map { String(describing: $0) }
        #expect(kinds.contains("Transfer") && kinds.contains("CampaignCredit"))
        for file in files {
            let text = try String(contentsOf: store.appendingPathComponent(file), encoding: .utf8)
            let named = kinds.filter { kind in text.range(of: "\\b\(kind)\\.", options: .regularExpression) != nil }
            #expect(named.isEmpty, "\(file) names \(named)")
        }
    }

    /// The declarations the store reads name the kinds they stood for before.
    @Test func theStoreFindsTheKindsItUsedToName() {
        #expect(EntryKinds.codes(conditionedOn: .family) == [Transfer.code])
        #expect(EntryKinds.codes(conditionedOn: .refund) == [Refund.code])
        #expect(EntryKinds.codes(folding: .expiryPolicies) == [ExpiryPolicyKind.code])
        #expect(EntryKinds.codes(folding: .autoPooling) == [FamilyJoin.code])
        let purchase = EntryID(origin: NodeID(unchecked: "s1"), sequence: 7)
        #expect(EntryKinds.dependentsLinks(of: purchase) == [CampaignCredit.creditsLink(purchase)])
    }
}
