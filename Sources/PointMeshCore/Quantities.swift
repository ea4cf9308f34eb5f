/// A number of loyalty points. Signed, because entries carry signed balance changes;
/// amounts that clients send are validated to be positive before they become `Points`.
public struct Points: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static let zero = Points(0)

    public static func < (lhs: Points, rhs: Points) -> Bool { lhs.value < rhs.value }
    public static func + (lhs: Points, rhs: Points) -> Points { Points(lhs.value + rhs.value) }
    public static func - (lhs: Points, rhs: Points) -> Points { Points(lhs.value - rhs.value) }
    public static prefix func - (operand: Points) -> Points { Points(-operand.value) }
    public static func += (lhs: inout Points, rhs: Points) { lhs.value += rhs.value }
    public static func -= (lhs: inout Points, rhs: Points) { lhs.value -= rhs.value }
    public var description: String { String(value) }
}

/// Money in fen (1 yuan = 100 fen). Never a float.
public struct Fen: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static let zero = Fen(0)

    public static func < (lhs: Fen, rhs: Fen) -> Bool { lhs.value < rhs.value }
    public static func + (lhs: Fen, rhs: Fen) -> Fen { Fen(lhs.value + rhs.value) }
    public static func - (lhs: Fen, rhs: Fen) -> Fen { Fen(lhs.value - rhs.value) }
    public var description: String { String(value) }
}

/// Upper bounds on what a client may send. They keep every sum the ledger computes far from
/// `Int64` overflow: 10^12 fen is ten billion yuan on one receipt, 10^12 points in one write.
public enum Limits {
    public static let maximumAmount = Fen(1_000_000_000_000)
    public static let maximumPoints = Points(1_000_000_000_000)
    /// Line items on one receipt.
    public static let maximumItems = 1_000
}
