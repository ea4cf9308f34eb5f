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
    let sums: [(category: CategoryID?, fen: Int64)]
    let fields: EntryDetails
    let canonical: [UInt8]

    init(amount: Fen, items: [PurchaseItem]) {
        var fieldsSize = 0, canonicalSize = 0
        for item in items {
            let size = Self.size(sku: item.sku.rawValue.utf8.count, category: item.category.rawValue.utf8.count, fen: item.amount.value)
            fieldsSize += size.fields
            canonicalSize += size.canonical
        }
        var builder = Builder(fields: fieldsSize, canonical: canonicalSize)
        for item in items {
            var sku = item.sku.rawValue, category = item.category.rawValue
            let added = sku.withUTF8 { sku in category.withUTF8 { category in builder.add(sku: sku, category: category, fen: item.amount.value) } }
            assert(added, "sized beforehand")
        }
        self = builder.lines(amount: amount)
    }

    private init(sums: [(category: CategoryID?, fen: Int64)], fields: EntryDetails, canonical: [UInt8]) {
        self.sums = sums
        self.fields = fields
        self.canonical = canonical
    }

    /// The items, read back from `fields`.
    var items: [PurchaseItem] {
        // `fields` was written here, from valid items: it always reads back.
        (try? Earn.items(in: fields.reader())) ?? []
    }

    /// The bytes a line takes in each form.
    private static func size(sku: Int, category: Int, fen: Int64) -> (fields: Int, canonical: Int) {
        let group = groupLength(sku: sku, category: category, zigzag: DetailsWriter.zigzag(fen))
        return (1 + BinaryWriter.varintLength(UInt64(group)) + group, 8 + sku + category + DecimalDigits.count(fen))
    }

    /// The length of an item's nested fields: 1 sku, 2 category, 3 fen.
    private static func groupLength(sku: Int, category: Int, zigzag: UInt64) -> Int {
        (1 + BinaryWriter.varintLength(UInt64(sku)) + sku) + (1 + BinaryWriter.varintLength(UInt64(category)) + category)
            + (2 + BinaryWriter.varintLength(zigzag))
    }

    /// Takes lines one at a time, as bytes, into room reserved at the start (allocated at the
    /// first line, so a receipt without lines allocates nothing), and sums them per category in
    /// first-seen order (the rule `EarningRules.lines` states). A struct, not a class: a class's
    /// stored properties are checked for exclusive access at run time on every line.
    struct Builder: ~Copyable {
        private let room: (fields: Int, canonical: Int)
        private var fields: UnsafeMutableBufferPointer<UInt8>?
        private var canonical: UnsafeMutableBufferPointer<UInt8>?
        private var fieldsAt = 0, canonicalAt = 0
        /// The sums so far, per category, kept as three arrays (the tuples of `sums` are
        /// handled by generic code, slower per line).
        private var categories: [CategoryID] = []
        private var fens: [Int64] = []
        /// A cheap digest of each sum's category, so two categories' bytes are compared only
        /// when they are most likely the same.
        private var digests: [UInt64] = []
        /// The fen of the lines so far.
        private(set) var covered: Int64 = 0

        /// Room for `fields` and `canonical` bytes of the two forms.
        init(fields: Int, canonical: Int) { room = (fields, canonical) }

        deinit {
            fields?.deallocate()
            canonical?.deallocate()
        }

        /// Adds a line of checked ids; false, adding nothing, when the room is short.
        mutating func add(sku: UnsafeBufferPointer<UInt8>, category: UnsafeBufferPointer<UInt8>, fen: Int64) -> Bool {
            let size = ReceiptLines.size(sku: sku.count, category: category.count, fen: fen)
            guard fieldsAt + size.fields <= room.fields, canonicalAt + size.canonical <= room.canonical else { return false }
            if fields == nil {
                fields = .allocate(capacity: room.fields)
                canonical = .allocate(capacity: room.canonical)
                categories.reserveCapacity(8)
                fens.reserveCapacity(8)
                digests.reserveCapacity(8)
            }
            guard let fields, let canonical else { return false }
            let zigzag = DetailsWriter.zigzag(fen)
            var out = Cursor(fields, at: fieldsAt)
            out.varint(Earn.Tag.item)
            out.varint(UInt64(ReceiptLines.groupLength(sku: sku.count, category: category.count, zigzag: zigzag)))
            out.varint(1)
            out.varint(UInt64(sku.count))
            out.copy(sku)
            out.varint(2)
            out.varint(UInt64(category.count))
            out.copy(category)
            out.varint(3)
            out.varint(UInt64(BinaryWriter.varintLength(zigzag)))
            out.varint(zigzag)
            fieldsAt = out.at

            var text = Cursor(canonical, at: canonicalAt)
            text.copy("item\t")
            text.copy(sku)
            text.byte(UInt8(ascii: "\t"))
            text.copy(category)
            text.byte(UInt8(ascii: "\t"))
            text.decimal(fen)
            text.byte(UInt8(ascii: "\n"))
            canonicalAt = text.at

            covered += fen
            let digest = category.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
            for index in digests.indices where digests[index] == digest && Self.same(categories[index], category) {
                fens[index] += fen
                return true
            }
            digests.append(digest)
            categories.append(CategoryID(unchecked: String(decoding: category, as: UTF8.self)))
            fens.append(fen)
            return true
        }

        /// The lines taken, for a receipt of `amount` (at least `covered`).
        consuming func lines(amount: Fen) -> ReceiptLines {
            var sums: [(category: CategoryID?, fen: Int64)] = []
            sums.reserveCapacity(categories.count + 1)
            for index in categories.indices { sums.append((categories[index], fens[index])) }
            let rest = amount.value - covered
            if rest > 0 { sums.append((nil, rest)) }
            guard let fields, let canonical else { return ReceiptLines(sums: sums, fields: .empty, canonical: []) }
            return ReceiptLines(sums: sums, fields: EntryDetails(bytes: Array(UnsafeBufferPointer(rebasing: fields[..<fieldsAt]))),
                                canonical: Array(UnsafeBufferPointer(rebasing: canonical[..<canonicalAt])))
        }

        private static func same(_ category: CategoryID, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            var text = category.rawValue
            return text.withUTF8 { text in
                guard text.count == bytes.count else { return false }
                for offset in 0..<text.count where text[offset] != bytes[offset] { return false }
                return true
            }
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

        /// `value` in decimal (`DecimalDigits`).
        mutating func decimal(_ value: Int64) {
            at += DecimalDigits.count(value)
            _ = DecimalDigits.write(value, endingAt: at, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }
}
