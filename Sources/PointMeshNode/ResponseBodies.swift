import Foundation
import PointMeshCore
import PointMeshJSON
import PointMeshStore

/// The JSON shapes the API answers with. Field names are the contract's.
enum ResponseBodies {
    /// One history line: what every entry has (id, kind, time, its moves, and what it did to
    /// the account looked at), then its kind's own fields. An entry of a kind this release does
    /// not know shows its moves and code; its kind's fields appear once the node is upgraded.
    /// `void`: a transfer the converged family membership contradicts (`FamilyCondition`), or a
    /// refund past its purchase (`RefundCondition`): it shows, with no effect on the balance.
    static func entry(_ entry: LedgerEntry, duplicate: Bool, void: Bool = false, for account: AccountID) -> JSONValue {
        let change = MoveEffects.change(of: duplicate || void ? [] : entry.moves, for: LedgerAccount(account))
        var fields = entryFields(entry, duplicate: duplicate, void: void)
        fields["account_id"] = .string(account.rawValue)
        fields["balance_delta"] = .integer(change.points.value)
        fields["debt_delta"] = .integer(change.debt.value)
        return .object(fields)
    }

    /// An entry in the change feed: at its `position` (the cursor to continue after), with the
    /// customer accounts it moves.
    static func feedEntry(_ entry: LedgerEntry, position: Int64, duplicate: Bool, void: Bool) -> JSONValue {
        var fields = entryFields(entry, duplicate: duplicate, void: void)
        fields["cursor"] = .string(String(position))
        fields["accounts"] = .array(entry.customerAccounts.map { .string($0.rawValue) })
        return .object(fields)
    }

    /// What every line showing an entry carries: ids, kind, time, moves, who made it, whether
    /// it counts, and its kind's own fields.
    private static func entryFields(_ entry: LedgerEntry, duplicate: Bool, void: Bool) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "entry_id": .string(entry.id.description), "origin": .string(entry.id.origin.rawValue),
            "sequence": .integer(entry.id.sequence), "kind": .string(EntryKinds.name(of: entry.code)),
            "created_at": .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)),
            "duplicate": .bool(duplicate),
            "moves": .array(entry.moves.map(move)),
        ]
        if let caller = EntryAudit.caller(of: entry) { fields["made_by"] = .string(caller) }
        if void {
            fields["void"] = .bool(true)
            fields["void_reason"] = .string(entry.code == Refund.code
                ? "refunds of the purchase before this one in the converged history had refunded all of it: no points reversed"
                : "the accounts were not in one family at this instant in the converged history: no points moved")
        }
        if let kind = EntryKinds.kind(code: entry.code), let own = try? kind.historyFields(entry) {
            fields.merge(own) { kept, _ in kept }
        }
        return fields
    }

    /// The history line of a lot that expired with points left: not an entry, but what the
    /// entries and the time imply, the same on every node.
    static func expiry(_ lot: Lot, for account: AccountID) -> JSONValue {
        .object([
            "entry_id": .string("expiry:\(lot.id)"), "kind": .string("expire"), "account_id": .string(account.rawValue),
            "created_at": .string(RFC3339.format(milliseconds: lot.expiresAt)), "balance_delta": .integer(-lot.remaining.value),
            "debt_delta": .integer(0), "duplicate": .bool(false), "moves": .array([]), "points": .integer(lot.remaining.value),
            "lot_entry_id": .string(lot.id.entry.description), "earned_at": .string(RFC3339.format(milliseconds: lot.earnedAt)),
            "policy_version": .string(lot.policy.rawValue),
        ])
    }

    static func move(_ move: Move) -> JSONValue {
        var fields: [String: JSONValue] = [
            "debit": .string(move.debit.name), "credit": .string(move.credit.name), "amount": .integer(move.amount.value),
            "asset": .string(move.asset.description),
        ]
        switch move.phase {
        case .posted: fields["phase"] = .string("posted")
        case .pending: fields["phase"] = .string("pending")
        case .post(let ref): fields["phase"] = .string("post"); fields["pending_move"] = .string(ref.description)
        case .void(let ref): fields["phase"] = .string("void"); fields["pending_move"] = .string(ref.description)
        }
        return .object(fields)
    }


    struct Status: Encodable {
        var node_id: String
        var role: String
        var version: String
        var entries: Int64
        var digest: String
        var version_vector: [String: Int64]
        var peers: [Peer]
        var seeds: [Seed]
        var retired: [String]
        /// False when writes are failing for a storage reason; `storage_error` says why.
        var healthy: Bool
        var storage_error: String?
        var storage_failing_since: String?
        var gossip_refusals: Int
        /// When the node's certificate ends, and the whole days until then (absent without one).
        var certificate_not_after: String?
        var certificate_days_left: Int64?
        /// The chain's stable horizon as this node knows it (`Membership.stableHorizon`).
        var stable_horizon: String?
        /// The members it waits for (`Membership.horizonWaitsFor`).
        var stable_horizon_waits_for: [String]

        struct Peer: Encodable {
            var node_id: String
            var address: String
            /// `alive`, `suspect` or `down`.
            var state: String
            /// Entries this node holds that the peer lacked at the last exchange.
            var lag_entries: Int64?
            var last_contact: String?
            /// Why the last exchange with it failed (time first); absent once one succeeds.
            var last_error: String?
        }

        /// A `--seed` address not yet tied to a node id (never reached, or refused).
        struct Seed: Encodable {
            var address: String
            var last_error: String?
        }
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every body here is plain strings and integers, which always encode.
        return (try? encoder.encode(value)).map(Array.init) ?? Array("{}".utf8)
    }
}
