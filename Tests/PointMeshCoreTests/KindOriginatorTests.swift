import PointMeshCore
import Testing

/// Which role of node may originate each kind (`EntryKindRule.originators`), written out here
/// apart from the kinds' declarations, so a kind given the wrong roles fails
/// (../shared/contract.md: a store node refuses what only HQ may originate).
@Suite struct KindOriginatorTests {
    static let table: [String: Set<NodeRole>] = [
        "earn": [.store, .hq], "refund": [.store, .hq], "redeem": [.store, .hq], "reminder-ack": [.store, .hq],
        "family-join": [.store, .hq], "family-leave": [.store, .hq], "transfer": [.store, .hq], "campaign-credit": [.store, .hq],
        "rights-grant": [.store, .hq], "issuance-grant": [.store, .hq],
        "expiry-policy": [.hq], "compensation": [.hq], "freeze": [.hq], "unfreeze": [.hq], "deduct": [.hq],
        "campaign": [.hq], "campaign-withdrawal": [.hq], "green-category": [.hq], "reward": [.hq], "reward-withdrawal": [.hq],
        "budget": [.hq], "point-value": [.hq],
    ]

    @Test func everyKindDeclaresWhoMayOriginateIt() {
        let declared = Dictionary(uniqueKeysWithValues: EntryKinds.all.map { ($0.name, $0.originators) })
        #expect(Set(declared.keys) == Set(Self.table.keys), "a kind without a row here, or a row for no kind")
        for (name, roles) in Self.table { #expect(declared[name] == roles, "\(name) may be originated by \(declared[name] ?? [])") }
    }
}
