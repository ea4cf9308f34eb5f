/// Which balance a counter is: an account's holding of one asset.
public struct BalanceKey: Hashable, Comparable, Sendable {
    public var account: LedgerAccount
    public var asset: Asset

    public init(_ account: LedgerAccount, _ asset: Asset = .points) {
        self.account = account
        self.asset = asset
    }

    public static func < (lhs: BalanceKey, rhs: BalanceKey) -> Bool { (lhs.account, lhs.asset) < (rhs.account, rhs.asset) }
}

/// An account's totals in one asset, as TigerBeetle keeps them: posted and pending, debits and
/// credits. The store keeps one per (account, asset, origin): CRDT-style counters that each
/// origin's entries alone change, summed over origins for the value.
public struct Balance: Hashable, Sendable {
    public var debitsPosted: Int64 = 0
    public var creditsPosted: Int64 = 0
    public var debitsPending: Int64 = 0
    public var creditsPending: Int64 = 0

    public init(debitsPosted: Int64 = 0, creditsPosted: Int64 = 0, debitsPending: Int64 = 0, creditsPending: Int64 = 0) {
        self.debitsPosted = debitsPosted
        self.creditsPosted = creditsPosted
        self.debitsPending = debitsPending
        self.creditsPending = creditsPending
    }

    /// Credits minus debits, posted only.
    public var posted: Points { Points(creditsPosted - debitsPosted) }
    /// What may be spent: posted, less what pending moves have reserved out of it.
    public var available: Points { Points(creditsPosted - debitsPosted - debitsPending) }
    /// Incoming points not yet final (a return window), shown apart from the balance.
    public var pendingIn: Points { Points(creditsPending) }

    public var isZero: Bool { self == Balance() }

    public static func + (lhs: Balance, rhs: Balance) -> Balance {
        Balance(debitsPosted: lhs.debitsPosted + rhs.debitsPosted, creditsPosted: lhs.creditsPosted + rhs.creditsPosted,
                debitsPending: lhs.debitsPending + rhs.debitsPending, creditsPending: lhs.creditsPending + rhs.creditsPending)
    }

    public static func += (lhs: inout Balance, rhs: Balance) { lhs = lhs + rhs }

    public func scaled(by sign: Int64) -> Balance {
        Balance(debitsPosted: debitsPosted * sign, creditsPosted: creditsPosted * sign,
                debitsPending: debitsPending * sign, creditsPending: creditsPending * sign)
    }
}

/// What moves do to balances: the one definition of counter arithmetic. The SQLite store adds
/// these deltas with one generic upsert, `MemoryLedger` adds them in memory, and
/// `pointmesh verify` recomputes every counter from the entries with this same function.
public enum MoveEffects {
    /// The change each move makes to the balances it touches, summed per balance.
    public static func deltas(of moves: [Move]) -> [BalanceKey: Balance] {
        Dictionary(changes(of: moves), uniquingKeysWith: +)
    }

    /// The same, as a list with each balance once, in first-touched order: what the write path
    /// iterates (an entry has a few moves, so a list beats hashing).
    public static func changes(of moves: [Move]) -> [(key: BalanceKey, delta: Balance)] {
        var changes: [(key: BalanceKey, delta: Balance)] = []
        // A compensation batch has a thousand moves: past a few, find keys by hashing.
        var positions: [BalanceKey: Int]? = moves.count > 8 ? [:] : nil
        func add(_ key: BalanceKey, _ delta: Balance) {
            let index = positions.map { $0[key] } ?? changes.firstIndex { $0.key == key }
            if let index {
                changes[index].delta += delta
            } else {
                positions?[key] = changes.count
                changes.append((key, delta))
            }
        }
        for move in moves {
            let (debit, credit) = sides(of: move)
            add(BalanceKey(move.debit, move.asset), debit)
            add(BalanceKey(move.credit, move.asset), credit)
        }
        return changes
    }

    /// What `move` does to the balance it debits and to the one it credits.
    private static func sides(of move: Move) -> (debit: Balance, credit: Balance) {
        let amount = move.amount.value
        return switch move.phase {
        case .posted: (Balance(debitsPosted: amount), Balance(creditsPosted: amount))
        case .pending: (Balance(debitsPending: amount), Balance(creditsPending: amount))
        case .post: (Balance(debitsPosted: amount, debitsPending: -amount), Balance(creditsPosted: amount, creditsPending: -amount))
        case .void: (Balance(debitsPending: -amount), Balance(creditsPending: -amount))
        }
    }

    /// Whether a store keeps a counter for `key`: every balance except a customer's points,
    /// which are its lots (`LotBook`: remainders less deficit, checked against the entries by
    /// `verify`). Keeping both would cost every purchase one more row write for a number the
    /// lots already say.
    public static func isCounted(_ key: BalanceKey) -> Bool { key.asset != .points || key.account.isSystem }

    /// The change an entry makes to one customer's points and debt, for history and responses.
    public static func change(of moves: [Move], for account: LedgerAccount) -> (points: Points, debt: Points) {
        // Summed move by move, without gathering every balance's change first: every write's
        // answer asks this.
        var points = Points.zero, debt = Points.zero
        for move in moves where move.debit == account || move.credit == account {
            let (debit, credit) = sides(of: move)
            var posted = Points.zero
            if move.debit == account { posted += debit.posted }
            if move.credit == account { posted += credit.posted }
            if move.asset == .points { points += posted } else if move.asset == .debt { debt += posted }
        }
        return (points, debt)
    }
}

/// A customer's state as the rules see it: spendable points, debt, and pending points.
public struct AccountState: Hashable, Sendable {
    public var balance: Points
    public var debt: Points
    public var pending: Points

    public init(balance: Points, debt: Points, pending: Points = .zero) {
        self.balance = balance
        self.debt = debt
        self.pending = pending
    }

    public static let empty = AccountState(balance: .zero, debt: .zero)
}
