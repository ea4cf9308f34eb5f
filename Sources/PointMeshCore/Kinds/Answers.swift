import PointMeshJSON

/// What write answers are made of, for every kind: the details tag they answer a replay from,
/// how they are written, and the fields every answer shares.
enum CommonDetails {
    /// The customer's spendable balance just after the entry, at its origin: a replay answers it.
    static let balanceAfter: UInt64 = 4

    static func balanceAfter(_ entry: LedgerEntry) throws(DecodingError) -> Int64 {
        try entry.details.reader().number(balanceAfter) ?? 0
    }
}

/// A write's answer, written key by key in sorted order straight into bytes, not built as a
/// `JSONValue`, because it is rendered on the HTTP event loop, which every connection shares.
enum WriteAnswer {
    /// The answer every write that moves a customer's points gives: the account, its balance
    /// just after, the change to its debt, the entry, and the kind's amount under `amountKey`.
    /// `lot`: the terms of the lot the write credited (an earning), for `expires_at` and, while
    /// pending, `pending_until`. `balance`: the balance after, when the caller read it already.
    /// `pooledTo`: the pool an auto-pooled earning went to. `earning`: an earning's campaign
    /// breakdown (each id where it stands in the entry's details) and green points. `reward`: a
    /// redemption's reward and, for a bill deduction, the discount in fen.
    static func pointsMoved(_ entry: LedgerEntry, customer: AccountID, amountKey: StaticString, amount: Int64, balance: Int64? = nil,
                            replayed: Bool, lot: LotEvents.Terms? = nil, pooledTo: AccountID? = nil,
                            earning: (details: [UInt8], campaigns: [(id: Range<Int>, points: Int64)], green: Points)? = nil,
                            reward: (id: String, discount: Int64?)? = nil) throws(DecodingError) -> [UInt8] {
        // About 50 bytes for each campaign's part of an earning.
        var answer = JSONWriter(capacity: 320 + 50 * (earning?.campaigns.count ?? 0))
        answer.beginObject()
        answer.field("account_id", customer.rawValue)
        if let balance {
            answer.field("balance", balance)
        } else {
            answer.field("balance", try CommonDetails.balanceAfter(entry))
        }
        if let earning {
            answer.campaigns(earning.campaigns, in: earning.details)
        }
        answer.field("created_at", RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))
        answer.field("debt_delta", MoveEffects.change(of: entry.moves, for: LedgerAccount(customer)).debt.value)
        answer.field("entry_id", entry.id.description)
        if let lot { answer.field("expires_at", RFC3339.format(milliseconds: lot.expiresAt)) }
        if let discount = reward?.discount { answer.field("fen_deducted", discount) }
        if let earning { answer.field("green_points", earning.green.value) }
        if let lot, lot.maturesAt > entry.timestamp.wallMilliseconds { answer.field("pending_until", RFC3339.format(milliseconds: lot.maturesAt)) }
        answer.field(amountKey, amount)
        if let pooledTo { answer.field("pooled_to", pooledTo.rawValue) }
        answer.field("replayed", replayed)
        if let reward { answer.field("reward_id", reward.id) }
        answer.endObject()
        return answer.finished()
    }
}

extension JSONWriter {
    /// An earning's campaign breakdown, `"campaigns":[{"campaign_id":…,"points":…},…]`, each id
    /// copied from where it stands in `details`.
    mutating func campaigns(_ parts: [(id: Range<Int>, points: Int64)], in details: [UInt8]) {
        key("campaigns")
        beginArray()
        for part in parts {
            beginObject()
            key("campaign_id")
            details[part.id].withUnsafeBytes { string(utf8: $0) }
            key("points")
            integer(part.points)
            endObject()
        }
        endArray()
    }

    /// `key` and an id, date or other text.
    mutating func field(_ key: StaticString, _ value: String) {
        self.key(key)
        string(value)
    }

    /// `key` and an integer.
    mutating func field(_ key: StaticString, _ value: Int64) {
        self.key(key)
        integer(value)
    }

    /// `key` and a boolean.
    mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bool(value)
    }
}

/// The response fields every write that moves a customer's points answers with.
enum AnswerFields {
    static let accountID = FieldSpec("account_id", .id, "The customer account.")
    static let balance = FieldSpec("balance", .integer, "The account's spendable balance just after this write, at the node that made it.")
    static let createdAt = FieldSpec("created_at", .time, "When the entry was written at its origin.")
    static let entryID = FieldSpec("entry_id", .text, "The entry's id, `origin:sequence`.")
    static let replayed = FieldSpec("replayed", .boolean, "True when this write had been made before: nothing new happened and the body is the original result (HTTP 200).")
}
