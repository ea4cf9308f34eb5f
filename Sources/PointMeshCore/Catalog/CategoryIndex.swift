/// Positions of a fixed set of categories, found by their text: an open-addressed table keyed by
/// an FNV-1a hash of the UTF-8 bytes (`FNV1a`), each hit confirmed by comparing the text.
///
/// `EarningRules.Rates` looks every line of every purchase up in one. A `Dictionary` hashes a
/// `String` with SipHash after checking its normalization: about 330 instructions a lookup, a
/// third of a 20-item purchase's earning. This takes a few per byte.
struct CategoryIndex: Sendable {
    /// Each slot: a position in `categories`, or -1. Twice as many slots as categories, at
    /// least, and a power of two.
    private let slots: [Int32]
    private let categories: [CategoryID]

    /// `categories` must not repeat.
    init(_ categories: [CategoryID]) {
        var size = 8
        while size < categories.count * 2 { size *= 2 }
        var slots = [Int32](repeating: -1, count: size)
        for (position, category) in categories.enumerated() {
            var slot = Self.hash(category) & (size - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Int32(position)
        }
        self.slots = slots
        self.categories = categories
    }

    /// The position `category` was given, or nil.
    func position(of category: CategoryID) -> Int? {
        let mask = slots.count - 1
        var slot = Self.hash(category) & mask
        while true {
            let position = Int(slots[slot])
            if position < 0 { return nil }
            if categories[position].rawValue == category.rawValue { return position }
            slot = (slot + 1) & mask
        }
    }

    private static func hash(_ category: CategoryID) -> Int {
        // A native string's bytes are contiguous: read in place, not through the UTF-8 view's iterator.
        let hash = category.rawValue.utf8.withContiguousStorageIfAvailable(FNV1a.hash) ?? FNV1a.hash(category.rawValue.utf8)
        // The high bits folded in: a slot is picked by the low ones.
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
