import PointMeshJSON
import PointMeshCrypto

/// A holder handing every lot it holds of one account to another node (docs/rules.md, "Spending
/// rights"). Written only by the giving node, in answer to a node asking for the account's
/// rights: the giver is one serial decision point, so it never both spends and grants a lot,
/// and since only a lot's holder moves it, two grants never conflict. The receiver spends the
/// rights only once it holds this entry, so its debits sort after it in ledger order. Moves no
/// points: the account's balance is unchanged, only who may spend it.
public enum RightsGrant: NodeWrittenKind {
    public struct Request: Hashable, Sendable {
        public var account: AccountID
        /// The node receiving the rights.
        public var receiver: NodeID
        /// The asking node's id for its request: one request is granted once.
        public var request: RequestID

        public init(account: AccountID, receiver: NodeID, request: RequestID) {
            self.account = account
            self.receiver = receiver
            self.request = request
        }
    }

    public static let name = "rights-grant"
    public static let code = EntryCode(21)
    public static let scope = "rights-grant"
    public static let summary = "A node handing the spending rights it holds on an account to the node that asked for them."

    enum Tag {
        /// The spendable points the grant handed over, for the history line.
        static let points: UInt64 = 1
    }

    public static func idempotencyID(_ r: Request) -> String { SHA256Digest.hex(of: Array("\(r.account)\n\(r.receiver)\n\(r.request)".utf8)) }
    public static func canonicalForm(_ r: Request) -> String { "rights-grant\n\(r.account)\n\(r.receiver)\n\(r.request)\n" }

    /// The spendable points this node holds of the account, and whether it holds any lot not
    /// yet expired (pending ones count: they are handed over too).
    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> (held: HeldRights, any: Bool) {
        let book = try source.lotBook(of: request.account)
        return (book.rights(of: context.node, at: context.now), book.lots.contains { $0.holder == context.node && !$0.isExpired(at: context.now) })
    }

    public static func decide(_ request: Request, facts: (held: HeldRights, any: Bool), context: RequestContext) throws(LedgerError) -> KindDecision {
        guard request.receiver != context.node else { throw .fieldNotApplicable(field: "receiver", why: "a node does not grant rights to itself") }
        guard facts.any else { throw .noRightsHeld(request.account) }
        var writer = DetailsWriter()
        LotEvents.addSubject(request.account, to: &writer)
        LotEvents.addGrant(to: request.receiver, to: &writer)
        writer.number(Tag.points, facts.held.points.value)
        return KindDecision(moves: [], details: writer.details)
    }

    /// The account, the receiver and the spendable points handed over.
    public static func granted(_ entry: LedgerEntry) throws(DecodingError) -> (account: AccountID, receiver: NodeID, points: Points) {
        guard let account = LotEvents.subjects(of: entry.details).first, let receiver = try LotEvents.lotFields(of: entry).grantedTo else {
            throw .invalid("rights grant \(entry.id) lacks its account or receiver")
        }
        return (account, receiver, Points(try entry.details.reader().number(Tag.points) ?? 0))
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let granted = try granted(entry)
        return ["account_id": .string(granted.account.rawValue), "to_node": .string(granted.receiver.rawValue), "points": .integer(granted.points.value)]
    }
}
