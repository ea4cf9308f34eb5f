import PointMeshJSON

/// A purchase's items in the three forms a write needs, made where the request is made (on the
/// event loop), in one pass over the items, so the single writer makes none of them:
/// - `sums`: their fen per category, and the part of the amount no item names
///   (`EarningRules.lines`), for the earning;
/// - `fields`: the entry's item fields (`Earn.Tag.item`, nested 1 sku, 2 category, 3 fen), the
///   bytes `DetailsWriter.group` would write;
/// - `canonical`: their lines of the request's canonical form, `item\t{sku}\t{category}\t{fen}\n`.
///
/// Both byte forms are written through a pointer into room reserved beforehand: appended byte
/// by byte, they cost more than the rest of reading a 20-line purchase (docs/benchmarks.md).
/// A body read straight from its bytes (`PlainPurchaseReader`) adds its lines as it scans them,
/// from the body's own bytes, so a till's purchase makes no `PurchaseItem` and no string per
/// line; `items` reads them back from `fields` when someone asks.
struct ReceiptLines: Sendable {
    let sums: [EarningRules.CategoryFen]
    let fields: EntryDetails
    let canonical: [UInt8]

    init(amount: Fen, items: [PurchaseItem]) {
        var fieldsSize = 0, canonicalSize = 0
        for item in items {
            let size = LineSize(sku: item.sku.rawValue.utf8.count, category: item.category.rawValue.utf8.count, fen: item.amount.value)
            fieldsSize += size.fields
            canonicalSize += size.canonical
        }
        self = Builder.withRoom(fields: fieldsSize, canonical: canonicalSize) { builder in
            for item in items {
                var sku = item.sku.rawValue, category = item.category.rawValue
                let added = DecimalDigits.withText(item.amount.value) { digits in
                    sku.withUTF8 { sku in category.withUTF8 { category in builder.add(sku: sku, category: category, fen: item.amount.value, digits: digits) } }
                }
                assert(added, "sized beforehand")
            }
            return builder.lines(amount: amount)
        }
    }

    private init(sums: [EarningRules.CategoryFen], fields: EntryDetails, canonical: [UInt8]) {
        self.sums = sums
        self.fields = fields
        self.canonical = canonical
    }

    /// The items, read back from `fields`.
    var items: [PurchaseItem] {
        // `fields` was written here, from valid items: it always reads back.
        (try? Earn.items(in: fields.reader())) ?? []
    }

    /// The bytes a line takes in each form, and the parts of its item field, worked out once.
    private struct LineSize {
        let zigzag: UInt64
        /// The item's nested fields: 1 sku, 2 category, 3 fen.
        let group: Int
        let fields: Int
        let canonical: Int

        init(sku: Int, category: Int, fen: Int64, digits: Int? = nil) {
            zigzag = DetailsWriter.zigzag(fen)
            group = (1 + BinaryWriter.varintLength(UInt64(sku)) + sku) + (1 + BinaryWriter.varintLength(UInt64(category)) + category)
                + (2 + BinaryWriter.varintLength(zigzag))
            fields = 1 + BinaryWriter.varintLength(UInt64(group)) + group
            canonical = 8 + sku + category + (digits ?? DecimalDigits.count(fen))
        }
    }

    /// Takes lines one at a time, as bytes, into room given at the start (`withRoom`), and sums
    /// them per category in first-seen order (the rule `EarningRules.lines` states). A struct,
    /// not a class: a class's stored properties are checked for exclusive access at run time on
    /// every line.
    struct Builder: ~Copyable {
        private let fields: UnsafeMutableBufferPointer<UInt8>
        private let canonical: UnsafeMutableBufferPointer<UInt8>
        private var fieldsAt = 0, canonicalAt = 0
        /// The sums so far, per category. A category's name is read from where its first line
        /// put it in `canonical`, and made a `CategoryID` only at the end: a line adds no string.
        private var sums: [CategorySum] = []
        /// The fen of the lines so far.
        private(set) var covered: Int64 = 0

        private struct CategorySum {
            /// Where the name stands in `canonical`.
            let name: Range<Int>
            /// A cheap digest of the name, so two names' bytes are compared only when they are
            /// most likely the same.
            let digest: UInt64
            var fen: Int64
        }

        private init(fields: UnsafeMutableBufferPointer<UInt8>, canonical: UnsafeMutableBufferPointer<UInt8>) {
            self.fields = fields
            self.canonical = canonical
        }

        /// Runs `body` with a builder that has room for `fields` and `canonical` bytes of the two
        /// forms, on the stack when it fits there: a 20-line receipt's room is past the sizes
        /// the allocator serves from its quick per-thread cache, and is only needed while the
        /// lines are read (`lines(amount:)` copies out what they took).
        static func withRoom<Result>(fields: Int, canonical: Int, _ body: (inout Builder) -> Result) -> Result {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, fields + canonical)) { room in
                var builder = Builder(fields: UnsafeMutableBufferPointer(rebasing: room[..<fields]),
                                      canonical: UnsafeMutableBufferPointer(rebasing: room[fields..<(fields + canonical)]))
                return body(&builder)
            }
        }

        /// Adds a line of checked ids, its amount `fen` also given as its decimal text `digits`
        /// (a body's own digits serve); false, adding nothing, when the room is short.
        mutating func add(sku: UnsafeBufferPointer<UInt8>, category: UnsafeBufferPointer<UInt8>, fen: Int64, digits: UnsafeBufferPointer<UInt8>) -> Bool {
            let size = LineSize(sku: sku.count, category: category.count, fen: fen, digits: digits.count)
            guard fieldsAt + size.fields <= fields.count, canonicalAt + size.canonical <= canonical.count else { return false }
            if sums.isEmpty { sums.reserveCapacity(16) }
            var out = Cursor(fields, at: fieldsAt)
            out.varint(Earn.Tag.item)
            out.varint(UInt64(size.group))
            out.varint(1)
            out.varint(UInt64(sku.count))
            out.copy(sku)
            out.varint(2)
            out.varint(UInt64(category.count))
            out.copy(category)
            out.varint(3)
            out.varint(UInt64(BinaryWriter.varintLength(size.zigzag)))
            out.varint(size.zigzag)
            fieldsAt = out.at

            var text = Cursor(canonical, at: canonicalAt)
            text.copy("item\t")
            text.copy(sku)
            text.byte(UInt8(ascii: "\t"))
            let name = text.at..<(text.at + category.count)
            text.copy(category)
            text.byte(UInt8(ascii: "\t"))
            text.copy(digits)
            text.byte(UInt8(ascii: "\n"))
            canonicalAt = text.at

            covered += fen
            let digest = FNV1a.hash(category)
            for index in sums.indices where sums[index].digest == digest && Self.same(canonical, sums[index].name, category) {
                sums[index].fen += fen
                return true
            }
            sums.append(CategorySum(name: name, digest: digest, fen: fen))
            return true
        }

        /// The lines taken, for a receipt of `amount` (at least `covered`).
        func lines(amount: Fen) -> ReceiptLines {
            var sums: [EarningRules.CategoryFen] = []
            sums.reserveCapacity(self.sums.count + 1)
            let rest = amount.value - covered
            for sum in self.sums {
                sums.append(EarningRules.CategoryFen(CategoryID(unchecked: String(decoding: UnsafeBufferPointer(rebasing: canonical[sum.name]), as: UTF8.self)), sum.fen))
            }
            if rest > 0 { sums.append(EarningRules.CategoryFen(nil, rest)) }
            guard fieldsAt > 0 else { return ReceiptLines(sums: sums, fields: .empty, canonical: []) }
            return ReceiptLines(sums: sums, fields: EntryDetails(bytes: Array(UnsafeBufferPointer(rebasing: fields[..<fieldsAt]))),
                                canonical: Array(UnsafeBufferPointer(rebasing: canonical[..<canonicalAt])))
        }

        private static func same(_ buffer: UnsafeMutableBufferPointer<UInt8>, _ name: Range<Int>, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard name.count == bytes.count else { return false }
            for offset in 0..<bytes.count where buffer[name.lowerBound + offset] != bytes[offset] { return false }
            return true
        }
    }

    /// Writes into a buffer sized beforehand.
    private struct Cursor {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var at: Int

        init(_ buffer: UnsafeMutableBufferPointer<UInt8>, at: Int) {
            self.buffer = buffer
            self.at = at
        }

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
    }
}
