/// A JSON text as `JSONParser` reads it: one flat array of nodes over the text's bytes, in
/// document order (each container followed by its contents). Nothing is made per value while
/// parsing (no dictionary per object, no string per key or id): a request's fields are looked
/// up by comparing bytes, and a value becomes a `String` or a `JSONValue` only when read. A
/// purchase of 20 lines has some 150 nodes, in one allocation.
public final class JSONDocument: Sendable {
    /// What a node is.
    public enum Kind: UInt8, Sendable {
        case null, bool, integer, number, string, array, object
    }

    struct Node: Sendable {
        var kind: Kind
        /// A bool's value; for a string, whether its bytes are plain ASCII without escapes.
        var flag = false
        /// A string's content (quotes excluded) in `bytes`.
        var start: Int32 = 0, end: Int32 = 0
        /// The index of the node after this one's contents (its next sibling).
        var after: Int32 = 0
        /// An integer's value, a number's bits, or for a string with escapes or non-ASCII bytes
        /// its index in `strings`.
        var scalar: Int64 = 0

        /// A string node's text, given its document's bytes and decoded strings.
        func text(_ bytes: [UInt8], _ strings: [String]) -> String {
            flag ? String(decoding: bytes[Int(start)..<Int(end)], as: UTF8.self) : strings[Int(scalar)]
        }
    }

    let bytes: [UInt8]
    let nodes: [Node]
    /// Strings that had escapes or non-ASCII bytes, decoded and validated while parsing.
    let strings: [String]

    init(bytes: [UInt8], nodes: [Node], strings: [String]) {
        self.bytes = bytes
        self.nodes = nodes
        self.strings = strings
    }

    /// Whether node `index` is an object.
    public func isObject(_ index: Int) -> Bool { nodes[index].kind == .object }

    /// Calls `body` with the key node of each member of object `index` (its value node is the
    /// next one).
    public func forEachKey(of index: Int, _ body: (Int) -> Void) {
        var member = index + 1
        let end = Int(nodes[index].after)
        while member < end {
            body(member)
            member = Int(nodes[member + 1].after)
        }
    }

    /// The value node of the member of object `index` named `name`, if any.
    public func member(_ name: String, of index: Int) -> Int? {
        var member = index + 1
        let end = Int(nodes[index].after)
        while member < end {
            if key(member, is: name) { return member + 1 }
            member = Int(nodes[member + 1].after)
        }
        return nil
    }

    /// Whether string node `index` holds exactly `name`.
    public func key(_ index: Int, is name: String) -> Bool {
        let node = nodes[index]
        guard node.flag else { return strings[Int(node.scalar)] == name }
        let start = Int(node.start), count = Int(node.end - node.start)
        guard name.utf8.count == count else { return false }
        let equal = name.utf8.withContiguousStorageIfAvailable { utf8 in
            bytes.withUnsafeBufferPointer { all in
                for offset in 0..<count where all[start + offset] != utf8[offset] { return false }
                return true
            }
        }
        return equal ?? bytes[start..<(start + count)].elementsEqual(name.utf8)
    }

    /// String node `index`'s bytes when it is written plainly (ASCII, no escapes), the common case
    /// for ids, read where they stand; nil for any other node.
    public func plainText(_ index: Int) -> ArraySlice<UInt8>? {
        let node = nodes[index]
        guard node.kind == .string, node.flag else { return nil }
        return bytes[Int(node.start)..<Int(node.end)]
    }

    /// What node `index` is.
    public func kind(_ index: Int) -> Kind { nodes[index].kind }

    /// Integer node `index`'s value; nil for any other node.
    public func integer(_ index: Int) -> Int64? {
        let node = nodes[index]
        return node.kind == .integer ? node.scalar : nil
    }

    /// String node `index` as a `String`.
    public func string(_ index: Int) -> String { nodes[index].text(bytes, strings) }

    /// The elements of array `index`.
    public func elements(of index: Int) -> [Int] {
        var result: [Int] = []
        var element = index + 1
        while element < Int(nodes[index].after) {
            result.append(element)
            element = Int(nodes[element].after)
        }
        return result
    }

    /// Node `index` as a `JSONValue` (with everything inside it).
    public func value(_ index: Int) -> JSONValue {
        let node = nodes[index]
        switch node.kind {
        case .null: return .null
        case .bool: return .bool(node.flag)
        case .integer: return .integer(node.scalar)
        case .number: return .number(Double(bitPattern: UInt64(bitPattern: node.scalar)))
        case .string: return .string(string(index))
        case .array: return .array(elements(of: index).map(value))
        case .object:
            var fields = [String: JSONValue](minimumCapacity: 8)
            forEachKey(of: index) { key in fields[string(key)] = value(key + 1) }
            return .object(fields)
        }
    }
}
