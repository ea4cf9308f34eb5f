import Foundation
import PointMeshCore
import PointMeshReplication
import PointMeshSimulation
import Testing

private let day: Int64 = 86_400_000

/// Seeds: `POINTMESH_FORGED_ORIGIN_SEEDS=500 swift test --filter ForgedOriginSimulation` runs that many.
private let forgingSeeds = simulationSeeds(from: "POINTMESH_FORGED_ORIGIN_SEEDS", default: 40)

/// A Byzantine store that forges entries under *another* origin's id (issue "Each node proves
/// who it is", item 2): every node seals its entries and takes a peer's only as far as seals
/// cover them (`SealCheck`, with the simulation's model of certificates, `ModelSeals`). Every
/// few steps the forger takes a campaign of 100,000 points a receipt it wrote and relabels it
/// as HQ's next entry, in one of three disguises: sealed with its own key, with a seal copied
/// from HQ's last real entry, or with no seal; it stores it as if HQ had sent it and relays it
/// like any entry. Seeded faults: loss, duplication, delay, partitions, crashes. What must hold
/// on every honest node: no forged entry is applied; the honest nodes converge; every write an
/// honest node acknowledged is on every honest node, byte for byte.
@Suite struct ForgedOriginSimulationTests {
    static let hq = 0, forger = 4, nodeCount = 6

    /// What a run did, for the floors.
    struct Run {
        var forged = 0
        var refused = 0
    }

    @discardableResult
    static func run(seed: UInt64) throws -> Run {
        var cluster = SimulatedCluster(count: Self.nodeCount, seed: seed, fullMembership: true)
        cluster.sealEverywhere()
        for index in 1..<Self.nodeCount { cluster.configure(node: index, role: .store, forging: index == Self.forger) }
        let hqID = cluster.nodes[Self.hq].id, forgerID = cluster.nodes[Self.forger].id
        var random = SplitMix64(seed: seed ^ 0x5EA1)
        var acknowledged: [LedgerEntry] = [], forged: [LedgerEntry] = []
        for step in 1...120 {
            cluster.run(until: Int64(step) * 200)
            let node = Int(random.next() % UInt64(Self.nodeCount))
            let receipt = random.next() % 10_000
            let command = PreparedWrite(Earn.self, Earn.Request(receipt: ReceiptID(unchecked: "R\(seed)-\(step)"), account: AccountID(unchecked: "acct-\(receipt % 6)"),
                                                               amount: Fen(Int64(100 + receipt % 900) * 100)))
            do {
                if case .append(let entry) = try cluster.write(command, at: node), node != Self.forger { acknowledged.append(entry) }
            } catch is CommitInterrupted {}
            guard step % 6 == 0, cluster.nodes[Self.forger].up else { continue }
            // The forger writes a campaign as itself (its own kind check removed), then relabels it.
            let campaign = Campaign(id: CampaignID(unchecked: "camp-\(step)"), name: "Forged \(step)", startsAt: 0, endsAt: 400 * day,
                                    stores: [], categories: [], effect: .bonus(Points(100_000)), green: false, backdateReason: "festival")
            guard case .append(var entry) = try? cluster.write(PreparedWrite(CampaignDefinition.self, campaign), at: Self.forger) else { continue }
            let ledger = cluster.nodes[Self.forger].ledger
            let held = ledger.entries(of: hqID, after: 0, limit: .max)
            entry.id = EntryID(origin: hqID, sequence: Int64(held.count) + 1)
            var chain = OriginChain.empty
            for earlier in held + [entry] { chain = chain.extended(sequence: earlier.id.sequence, bytes: EntryCoding.encode(earlier)) }
            var disguise = SealedEntries([entry])
            switch random.next() % 3 {
            case 0:
                let sealer = ModelSeals.Sealer(node: forgerID)
                disguise.seals[entry.id] = sealer.seal(EntrySeal.message(origin: hqID, chain: chain))
                disguise.certificates[CertificateFingerprint.of(certificate: sealer.certificate)] = sealer.certificate
            case 1:
                if let real = held.last(where: { ledger.seals[$0.id] != nil }), let seal = ledger.seals[real.id] {
                    disguise.seals[entry.id] = seal
                    disguise.certificates[seal.certificate] = ledger.certificates[seal.certificate]
                }
            default:
                break
            }
            // Stored as if HQ itself had sent it, the forger's own check of seals set aside.
            let stored = cluster.tamper(withLedgerOf: Self.forger) { ledger in
                let policy = ledger.sealPolicy
                ledger.sealPolicy = .unchecked
                defer { ledger.sealPolicy = policy }
                return ledger.apply(disguise, from: hqID).stored
            }
            if stored == 1 { forged.append(entry) }
        }
        let healed = cluster.settle(from: 24_000)
        #expect(healed, "seed \(seed): the honest nodes did not converge")
        #expect(cluster.failures.isEmpty, "seed \(seed): \(cluster.failures)")
        for index in cluster.nodes.indices where index != Self.forger {
            let ledger = cluster.nodes[index].ledger
            for entry in forged {
                let held = ledger.entries(of: entry.id.origin, after: entry.id.sequence - 1, limit: 1).first
                #expect(held != entry, "seed \(seed): \(cluster.nodes[index].id) applied the entry forged as \(entry.id)")
            }
            for entry in acknowledged {
                let held = ledger.entries(of: entry.id.origin, after: entry.id.sequence - 1, limit: 1).first
                #expect(held == entry, "seed \(seed): \(cluster.nodes[index].id) lost acknowledged \(entry.id)")
            }
        }
        return Run(forged: forged.count, refused: cluster.sealsRefused)
    }

    @Test(arguments: forgingSeeds)
    func noHonestNodeAppliesEntriesForgedUnderAnotherOrigin(seed: UInt64) throws {
        try Self.run(seed: seed)
    }

    /// The forger's entries reached honest nodes and were refused there, not only kept away by
    /// chance: over the CI seeds, many forgeries and many refusals.
    @Test func forgeriesAreMadeAndRefused() throws {
        var forged = 0, refused = 0
        for seed in forgingSeeds.prefix(20) {
            let run = try Self.run(seed: seed)
            forged += run.forged
            refused += run.refused
        }
        #expect(forged > 100 && refused > 50, "forged \(forged), refused \(refused)")
    }
}
