import Foundation
import PointMeshCore
import PointMeshStore

/// The JSON shapes the API answers with. Field names are the contract's.
enum ResponseBodies {
    /// The answer to a purchase (points earned) or a redemption (points spent). Written out
    /// by hand because it is rendered on the writer thread's completion path: every field is an
    /// integer, a boolean or an id, and ids (and `origin:sequence`) use only characters JSON
    /// needs no escape for. Keys in sorted order, like every other body.
    /// `replayed` is true when the write had been made before and nothing new happened: the
    /// body is then the original result, `balance` as it was just after it.
    static func pointsMoved(_ entry: LedgerEntry, replayed: Bool) -> [UInt8] {
        Array(#"{"account_id":"\#(entry.account.rawValue)","balance":\#(entry.balanceAfter.value),"created_at":"\#(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))","debt_delta":\#(entry.debtDelta.value),"entry_id":"\#(entry.id)","points":\#(entry.points.value),"replayed":\#(replayed)}"#.utf8)
    }

    /// The answer to a refund; see `pointsMoved`. `debt_delta` is the part of the reversal the
    /// balance could not cover (already spent), which became debt.
    static func refund(_ entry: LedgerEntry, replayed: Bool) -> [UInt8] {
        Array(#"{"account_id":"\#(entry.account.rawValue)","balance":\#(entry.balanceAfter.value),"created_at":"\#(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))","debt_delta":\#(entry.debtDelta.value),"entry_id":"\#(entry.id)","points_reversed":\#(entry.points.value),"replayed":\#(replayed)}"#.utf8)
    }

    struct Account: Encodable {
        var account_id: String
        var balance: Int64
        /// Points owed after refunds of already-spent points; later earnings repay it first.
        var debt: Int64
        var family_id: String?
        var frozen: Bool
        var expiring: [Expiring]

        struct Expiring: Encodable {
            var points: Int64
            var expires_at: String
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(account_id, forKey: .account_id)
            try container.encode(balance, forKey: .balance)
            try container.encode(debt, forKey: .debt)
            try container.encode(family_id, forKey: .family_id)  // explicit null, not omitted
            try container.encode(frozen, forKey: .frozen)
            try container.encode(expiring, forKey: .expiring)
        }

        enum CodingKeys: CodingKey { case account_id, balance, debt, family_id, frozen, expiring }
    }

    struct Entry: Encodable {
        var entry_id: String
        var origin: String
        var sequence: Int64
        var kind: String
        var account_id: String
        var points: Int64
        var balance_delta: Int64
        var debt_delta: Int64
        var created_at: String
        var receipt_id: String?
        var refund_id: String?
        var request_id: String?
        var amount_fen: Int64?
        var reward_id: String?
        var member_id: String?
        var items: [Item]?

        struct Item: Encodable {
            var sku: String
            var category: String
            var amount_fen: Int64
        }

        init(_ entry: LedgerEntry) {
            entry_id = entry.id.description
            origin = entry.id.origin.rawValue
            sequence = entry.id.sequence
            kind = entry.kind.rawValue
            account_id = entry.account.rawValue
            points = entry.points.value
            balance_delta = entry.balanceDelta.value
            debt_delta = entry.debtDelta.value
            created_at = RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)
            receipt_id = entry.receipt?.rawValue
            switch entry.idempotencyKey.scope {
            case .refund: refund_id = entry.idempotencyKey.id
            case .redemption: request_id = entry.idempotencyKey.id
            case .receipt: break
            }
            amount_fen = entry.amount?.value
            reward_id = entry.rewardID?.rawValue
            member_id = entry.memberID?.rawValue
            items = entry.items.isEmpty ? nil : entry.items.map {
                Item(sku: $0.sku.rawValue, category: $0.category.rawValue, amount_fen: $0.amount.value)
            }
        }
    }

    struct EntryPage: Encodable {
        var account_id: String
        var entries: [Entry]
        /// Pass as `before` to get the next (older) page; absent on the last page.
        var next_cursor: String?
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
