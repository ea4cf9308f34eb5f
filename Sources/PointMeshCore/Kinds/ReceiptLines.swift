/// A purchase's items in the three forms a write needs, made where the request is made (on the
/// event loop), in one pass over the items, so the single writer makes none of them:
/// - `sums`: their fen per category, and the part of the amount no item names
///   (`EarningRules.lines`), for the earning;
/// - `fields`: the entry's item fields (`Earn.Tag.item`, nested 1 sku, 2 category, 3 fen), the
///   bytes `DetailsWriter.group` would write;
/// - `canonical`: their lines of the request's canonical form, `item\t{sku}\t{category}\t{fen}\n`.
///
/// Both byte forms are sized first and then written through a pointer: appended byte by byte,
/// they cost more than the rest of reading a 20-line purchase (docs/benchmarks.md).
struct ReceiptLines: Sendable {
    private(set) var sums: [(category: CategoryID?, fen: Int64)]
    private(set) var fields: EntryDetails
    private(set) var canonical: [UInt8]

    init(amount: Fen, items: [PurchaseItem]) {
        sums = EarningRules.lines(amount: amount, items: items)
        var fieldsSize = 0, canonicalSize = 0
        for item in items {
            let sku = item.sku.rawValue.utf8.count, category = item.category.rawValue.utf8.count
            let group = Self.groupLength(sku: sku, category: category, zigzag: DetailsWriter.zigzag(item.amount.value))
            fieldsSize += 1 + BinaryWriter.varintLength(UInt64(group)) + group
            canonicalSize += 8 + sku + category + DecimalDigits.count(item.amount.value)
        }
        fields = EntryDetails(bytes: [UInt8](unsafeUninitializedCapacity: fieldsSize) { buffer, count in
            var out = Cursor(buffer)
            for item in items {
                var sku = item.sku.rawValue, category = item.category.rawValue
                let zigzag = DetailsWriter.zigzag(item.amount.value)
                sku.withUTF8 { sku in
                    category.withUTF8 { category in
                        out.varint(Earn.Tag.item)
                        out.varint(UInt64(Self.groupLength(sku: sku.count, category: category.count, zigzag: zigzag)))
                        out.varint(1)
                        out.varint(UInt64(sku.count))
                        out.copy(sku)
                        out.varint(2)
                        out.varint(UInt64(category.count))
                        out.copy(category)
                        out.varint(3)
                        out.varint(UInt64(BinaryWriter.varintLength(zigzag)))
                        out.varint(zigzag)
                    }
                }
            }
            count = out.at
        })
        canonical = [UInt8](unsafeUninitializedCapacity: canonicalSize) { buffer, count in
            var out = Cursor(buffer)
            for item in items {
                var sku = item.sku.rawValue, category = item.category.rawValue
                out.copy("item\t")
                sku.withUTF8 { out.copy($0) }
                out.byte(UInt8(ascii: "\t"))
                category.withUTF8 { out.copy($0) }
                out.byte(UInt8(ascii: "\t"))
                out.decimal(item.amount.value)
                out.byte(UInt8(ascii: "\n"))
            }
            count = out.at
        }
    }

    /// The length of an item's nested fields: 1 sku, 2 category, 3 fen.
    private static func groupLength(sku: Int, category: Int, zigzag: UInt64) -> Int {
        (1 + BinaryWriter.varintLength(UInt64(sku)) + sku) + (1 + BinaryWriter.varintLength(UInt64(category)) + category)
            + (2 + BinaryWriter.varintLength(zigzag))
    }

    /// Writes into a buffer sized beforehand.
    private struct Cursor {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var at = 0

        init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

        mutating func byte(_ value: UInt8) {
            buffer[at] = value
            at += 1
        }

        mutating func varint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 {
                byte(UInt8(rest & 0x7f) | 0x80)
                rest >>= 7
            }
            byte(UInt8(rest))
        }

        mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            (buffer.baseAddress! + at).update(from: source, count: bytes.count)
            at += bytes.count
        }

        mutating func copy(_ text: StaticString) {
            copy(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// `value` in decimal (`DecimalDigits`).
        mutating func decimal(_ value: Int64) {
            at += DecimalDigits.count(value)
            _ = DecimalDigits.write(value, endingAt: at, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }
}
