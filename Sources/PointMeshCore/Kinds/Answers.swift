/// What write answers are made of, for every kind: the details tag they answer a replay from,
/// the JSON writer, and the fields every answer shares.
enum CommonDetails {
    /// The customer's spendable balance just after the entry, at its origin: a replay answers it.
    static let balanceAfter: UInt64 = 4

    static func balanceAfter(_ entry: LedgerEntry) throws(DecodingError) -> Int64 {
        try entry.details.reader().number(balanceAfter) ?? 0
    }
}

/// A write's answer, written out by hand because it is rendered on the HTTP event loop, which
/// every connection shares. Keys must be given in sorted order; values are integers, booleans, ids and
/// RFC 3339 times, none of which need escaping.
struct AnswerWriter {
    /// The answer so far is `output[..<end]`; the rest is room, zeroed. Written through a
    /// pointer rather than appended: `Array.append(contentsOf:)` of a key's few bytes took
    /// about 150 instructions, a tenth of a purchase's answer.
    private var output: [UInt8]
    private var end = 0
    /// Whether the next key needs a comma before it (not first in its object).
    private var afterValue = false

    /// `capacity`: the bytes the answer is likely to take, so they are reserved once.
    init(capacity: Int = 320) {
        output = [UInt8](repeating: 0, count: max(capacity, 64))
        byte(UInt8(ascii: "{"))
    }

    mutating func id(_ key: StaticString, _ value: String) {
        self.key(key)
        byte(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        byte(UInt8(ascii: "\""))
    }

    mutating func number(_ key: StaticString, _ value: Int64) {
        self.key(key)
        DecimalDigits.withText(value) { write(UnsafeRawBufferPointer($0)) }
    }

    /// An earning's campaign breakdown, `"campaigns":[{"campaign_id":…,"points":…},…]`, each id
    /// copied from where it stands in `details`.
    mutating func campaigns(_ parts: [(id: Range<Int>, points: Int64)], in details: [UInt8]) {
        key("campaigns")
        byte(UInt8(ascii: "["))
        for (index, part) in parts.enumerated() {
            write(index == 0 ? "{\"campaign_id\":\"" : ",{\"campaign_id\":\"")
            details[part.id].withUnsafeBytes { write($0) }
            write("\",\"points\":")
            DecimalDigits.withText(part.points) { write(UnsafeRawBufferPointer($0)) }
            byte(UInt8(ascii: "}"))
        }
        byte(UInt8(ascii: "]"))
    }

    mutating func flag(_ key: StaticString, _ value: Bool) {
        self.key(key)
        write(value ? "true" : "false")
    }

    /// `,"key":` (the comma when a value came before), in one write.
    private mutating func key(_ key: StaticString) {
        let comma = afterValue ? 1 : 0, count = key.utf8CodeUnitCount
        afterValue = true
        room(comma + count + 3)
        let at = end
        output.withUnsafeMutableBufferPointer { buffer in
            if comma == 1 { buffer[at] = UInt8(ascii: ",") }
            buffer[at + comma] = UInt8(ascii: "\"")
            UnsafeMutableRawPointer(buffer.baseAddress! + at + comma + 1).copyMemory(from: key.utf8Start, byteCount: count)
            buffer[at + comma + 1 + count] = UInt8(ascii: "\"")
            buffer[at + comma + 2 + count] = UInt8(ascii: ":")
        }
        end += comma + count + 3
    }

    private mutating func byte(_ value: UInt8) {
        room(1)
        output[end] = value
        end += 1
    }

    private mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        room(bytes.count)
        let at = end
        output.withUnsafeMutableBytes { ($0.baseAddress! + at).copyMemory(from: source, byteCount: bytes.count) }
        end += bytes.count
    }

    /// Makes sure `count` more bytes fit after `end`.
    private mutating func room(_ count: Int) {
        if end + count > output.count { output.append(contentsOf: repeatElement(0, count: max(output.count, count))) }
    }

    /// The answer, closed (consumed, so the bytes aren't copied).
    consuming func finished() -> [UInt8] {
        byte(UInt8(ascii: "}"))
        output.removeLast(output.count - end)
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
            answer.campaigns(earning.campaigns, in: earning.details)
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
