/// The binary form of a `LedgerEntry` on the wire (docs/protocol.md, "Entry").
public enum EntryCoding {
    public static func write(_ entry: LedgerEntry, to writer: inout BinaryWriter) {
        writer.string(entry.id.origin.rawValue)
        writer.i64(entry.id.sequence)
        writer.i64(entry.timestamp.wallMilliseconds)
        writer.i64(entry.timestamp.logical)
        writer.u8(kindCode(entry.kind))
        writer.string(entry.account.rawValue)
        writer.i64(entry.points.value)
        writer.i64(entry.balanceDelta.value)
        writer.i64(entry.debtDelta.value)
        writer.i64(entry.balanceAfter.value)
        writer.u8(scopeCode(entry.idempotencyKey.scope))
        writer.string(entry.idempotencyKey.id)
        writer.string(entry.requestHash.hex)
        writer.optionalString(entry.receipt?.rawValue)
        writer.optionalI64(entry.amount?.value)
        writer.u16(UInt16(min(entry.items.count, Int(UInt16.max))))
        for item in entry.items.prefix(Int(UInt16.max)) {
            writer.string(item.sku.rawValue)
            writer.string(item.category.rawValue)
            writer.i64(item.amount.value)
        }
        writer.optionalString(entry.rewardID?.rawValue)
        writer.optionalString(entry.memberID?.rawValue)
    }

    public static func read(from reader: inout BinaryReader) throws(DecodingError) -> LedgerEntry {
        let origin: NodeID = try reader.identifier()
        let sequence = try reader.i64()
        guard sequence > 0 else { throw .invalid("sequence \(sequence)") }
        let wall = try reader.i64(), logical = try reader.i64()
        let kind = try kind(try reader.u8())
        let account: AccountID = try reader.identifier()
        let points = try reader.i64(), balanceDelta = try reader.i64(), debtDelta = try reader.i64(), balanceAfter = try reader.i64()
        let scope = try scope(try reader.u8())
        let keyID = try reader.string()
        try IdentifierCheck.validate(keyID)
        let hash = try reader.string()
        guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw .invalid("request hash")
        }
        let receipt = try reader.optionalString().map { (text) throws(DecodingError) in try ReceiptID.decoded(text) }
        let amount = try reader.optionalI64().map(Fen.init)
        let itemCount = Int(try reader.u16())
        var items: [PurchaseItem] = []
        for _ in 0..<itemCount {
            items.append(PurchaseItem(sku: try reader.identifier(), category: try reader.identifier(), amount: Fen(try reader.i64())))
        }
        let reward = try reader.optionalString().map { (text) throws(DecodingError) in try RequestID.decoded(text) }
        let member = try reader.optionalString().map { (text) throws(DecodingError) in try AccountID.decoded(text) }
        return LedgerEntry(
            id: EntryID(origin: origin, sequence: sequence), timestamp: HLCTimestamp(wallMilliseconds: wall, logical: logical),
            kind: kind, account: account, points: Points(points), balanceDelta: Points(balanceDelta), debtDelta: Points(debtDelta),
            balanceAfter: Points(balanceAfter), idempotencyKey: IdempotencyKey(scope: scope, id: keyID),
            requestHash: RequestHash(hex: hash), receipt: receipt, amount: amount, items: items, rewardID: reward, memberID: member)
    }

    static func kindCode(_ kind: EntryKind) -> UInt8 {
        switch kind {
        case .earn: 1
        case .refund: 2
        case .redeem: 3
        }
    }

    static func kind(_ code: UInt8) throws(DecodingError) -> EntryKind {
        switch code {
        case 1: .earn
        case 2: .refund
        case 3: .redeem
        default: throw .invalid("entry kind \(code)")
        }
    }

    static func scopeCode(_ scope: IdempotencyKey.Scope) -> UInt8 {
        switch scope {
        case .receipt: 1
        case .refund: 2
        case .redemption: 3
        }
    }

    static func scope(_ code: UInt8) throws(DecodingError) -> IdempotencyKey.Scope {
        switch code {
        case 1: .receipt
        case 2: .refund
        case 3: .redemption
        default: throw .invalid("idempotency scope \(code)")
        }
    }
}

enum IdentifierCheck {
    static func validate(_ text: String) throws(DecodingError) {
        do {
            try RequestID.check(text)
        } catch {
            throw .invalid("invalid id \(text.debugDescription)")
        }
    }
}

extension Identifier {
    static func decoded(_ text: String) throws(DecodingError) -> Self {
        try IdentifierCheck.validate(text)
        return Self(unchecked: text)
    }
}
