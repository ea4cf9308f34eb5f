/// What write answers are made of, for every kind: the details tag they answer a replay from,
/// the JSON writer, and the fields every answer shares.
enum CommonDetails {
    /// The customer's spendable balance just after the entry, at its origin: a replay answers it.
    static let balanceAfter: UInt64 = 4

    static func balanceAfter(_ entry: LedgerEntry) throws(DecodingError) -> Int64 {
        try entry.details.reader().number(balanceAfter) ?? 0
    }
}

/// A write's answer, written out by hand because it is rendered on the writer thread's
/// completion path. Keys must be given in sorted order; values are integers, booleans, ids and
/// RFC 3339 times, none of which need escaping.
struct AnswerWriter {
    private var output: [UInt8]
    /// Whether the next key needs a comma before it (not first in its object).
    private var afterValue = false

    /// `capacity`: the bytes the answer is likely to take, so they are reserved once.
    init(capacity: Int = 320) {
        output = [UInt8(ascii: "{")]
        output.reserveCapacity(capacity)
    }

    mutating func id(_ key: StaticString, _ value: String) {
        self.key(key)
        output.append(UInt8(ascii: "\""))
        output.append(contentsOf: value.utf8)
        output.append(UInt8(ascii: "\""))
    }

    /// An id given as its UTF-8 bytes (read from an entry's details).
    mutating func id(_ key: StaticString, bytes: ArraySlice<UInt8>) {
        self.key(key)
        output.append(UInt8(ascii: "\""))
        output.append(contentsOf: bytes)
        output.append(UInt8(ascii: "\""))
    }

    mutating func number(_ key: StaticString, _ value: Int64) {
        self.key(key)
        output.appendDecimal(value)
    }

    /// An array of objects, each written by `element` (keys in sorted order again).
    mutating func objects<Element>(_ key: StaticString, _ elements: [Element], _ element: (inout AnswerWriter, Element) -> Void) {
        self.key(key)
        output.append(UInt8(ascii: "["))
        for (index, item) in elements.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(UInt8(ascii: "{"))
            afterValue = false
            element(&self, item)
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "]"))
        afterValue = true
    }

    mutating func flag(_ key: StaticString, _ value: Bool) {
        self.key(key)
        output.append(contentsOf: (value ? "true" : "false").utf8)
    }

    private mutating func key(_ key: StaticString) {
        if afterValue { output.append(UInt8(ascii: ",")) }
        afterValue = true
        output.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { output.append(contentsOf: $0) }
        output.append(UInt8(ascii: "\""))
        output.append(UInt8(ascii: ":"))
    }

    /// The answer, closed (consumed, so the bytes aren't copied).
    consuming func finished() -> [UInt8] {
        output.append(UInt8(ascii: "}"))
        return output
    }

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
        var answer = AnswerWriter(capacity: 320 + 50 * (earning?.campaigns.count ?? 0))
        answer.id("account_id", customer.rawValue)
        if let balance {
            answer.number("balance", balance)
        } else {
            answer.number("balance", try CommonDetails.balanceAfter(entry))
        }
        if let earning {
            answer.objects("campaigns", earning.campaigns) { object, campaign in
                object.id("campaign_id", bytes: earning.details[campaign.id])
                object.number("points", campaign.points)
            }
        }
        answer.id("created_at", RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))
        answer.number("debt_delta", MoveEffects.change(of: entry.moves, for: LedgerAccount(customer)).debt.value)
        answer.id("entry_id", entry.id.description)
        if let lot { answer.id("expires_at", RFC3339.format(milliseconds: lot.expiresAt)) }
        if let discount = reward?.discount { answer.number("fen_deducted", discount) }
        if let earning { answer.number("green_points", earning.green.value) }
        if let lot, lot.maturesAt > entry.timestamp.wallMilliseconds { answer.id("pending_until", RFC3339.format(milliseconds: lot.maturesAt)) }
        answer.number(amountKey, amount)
        if let pooledTo { answer.id("pooled_to", pooledTo.rawValue) }
        answer.flag("replayed", replayed)
        if let reward { answer.id("reward_id", reward.id) }
        return answer.finished()
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
