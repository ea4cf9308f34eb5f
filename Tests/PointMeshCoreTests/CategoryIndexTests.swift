@testable import PointMeshCore
import Testing

/// The earning's category lookup: every category it was given is found at its position, and
/// nothing else is found, whatever the sizes (so the table grows and its slots collide).
@Suite struct CategoryIndexTests {
    @Test(arguments: [0, 1, 3, 8, 9, 40, 300])
    func everyCategoryIsFoundAtItsPositionAndNoOther(count: Int) {
        var random = SplitMix64(seed: UInt64(count) + 5)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_.")
        func id() -> CategoryID {
            CategoryID(unchecked: String((0..<Int(1 + random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }))
        }
        var categories: [CategoryID] = [], seen: Set<String> = []
        while categories.count < count {
            let category = id()
            if seen.insert(category.rawValue).inserted { categories.append(category) }
        }
        let index = CategoryIndex(categories)
        for (position, category) in categories.enumerated() {
            // Found through a copy that shares no storage with the one it was given.
            #expect(index.position(of: CategoryID(unchecked: String(decoding: Array(category.rawValue.utf8), as: UTF8.self))) == position)
        }
        for _ in 0..<500 {
            let other = id()
            #expect(index.position(of: other) == (seen.contains(other.rawValue) ? categories.firstIndex(of: other) : nil))
        }
        #expect(index.position(of: CategoryID(unchecked: "")) == nil)
    }
}
