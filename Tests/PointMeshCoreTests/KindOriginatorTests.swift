import PointMeshCore
import PointMeshReplication
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

    /// Entries received from a peer are refused when their origin's certified role may not
    /// originate their kind; an origin of unknown role, a kind allowed to every role, and a
    /// kind this release does not know pass.
    @Test func receivedEntriesAreCheckedAgainstTheirOriginsCertifiedRole() throws {
        let store = NodeID(unchecked: "s1"), hq = NodeID(unchecked: "hq"), unknown = NodeID(unchecked: "s9")
        func written(_ write: PreparedWrite, by origin: NodeID) throws -> LedgerEntry {
            var ledger = MemoryLedger(origin: origin)
            guard case .append(let entry) = try ledger.write(write, now: 1_000) else { throw NotAppended() }
            return entry
        }
        let green = PreparedWrite(GreenCategory.self, CategoryID(unchecked: "tea"))
        let purchase = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R1"), account: AccountID(unchecked: "amy"), amount: Fen(1_000)))
        let roles: [NodeID: NodeRole] = [store: .store, hq: .hq]
        let forged = try written(green, by: store)
        #expect(ReplicationRules.firstOutOfRole([try written(purchase, by: store), forged], roles: roles) == forged)
        #expect(ReplicationRules.firstOutOfRole([try written(green, by: hq), try written(purchase, by: store)], roles: roles) == nil)
        #expect(ReplicationRules.firstOutOfRole([try written(green, by: unknown)], roles: roles) == nil)
        #expect(ReplicationRules.firstOutOfRole([forged], roles: [:]) == nil)
        var unknownKind = forged
        unknownKind.code = EntryCode(99)
        #expect(ReplicationRules.firstOutOfRole([unknownKind], roles: roles) == nil)

        // The replication exchange refuses the entry and its origin's later ones in the batch,
        // says so, and applies the rest: the session goes on.
        var exchange = ReplicationExchange(role: .responder, batchSize: 10, originRoles: roles)
        _ = try exchange.handle(.received(.summary(ledgerDigest: "a", membershipDigest: "b")))
        _ = try exchange.handle(.localState(LocalReplicaState(ledgerDigest: "c", vector: VersionVector(), membershipDigest: "d", members: [])))
        _ = try exchange.handle(.received(.state(vector: VersionVector(), members: [])))
        _ = try exchange.handle(.localState(LocalReplicaState(ledgerDigest: nil, vector: VersionVector(), membershipDigest: "d", members: [])))
        // s1:1 a purchase, s1:2 the forged definition, s1:3 a purchase after it; hq:1 HQ's.
        var forger = MemoryLedger(origin: store)
        var sequence: [LedgerEntry] = []
        for write in [purchase, green, PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R2"), account: AccountID(unchecked: "amy"), amount: Fen(500)))] {
            guard case .append(let entry) = try forger.write(write, now: 2_000) else { throw NotAppended() }
            sequence.append(entry)
        }
        let honest = try written(purchase, by: hq)
        let directives = try exchange.handle(.received(.entries(sequence + [honest])))
        #expect(directives == [.refuseOutOfRole(entry: sequence[1].id, code: GreenCategory.code, role: .store), .apply(SealedEntries([sequence[0], honest]), from: nil)])
        #expect(exchange.refusedOutOfRole == 1)
    }
}

private struct NotAppended: Error {}
