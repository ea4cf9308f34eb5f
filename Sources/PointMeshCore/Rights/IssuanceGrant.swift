import PointMeshJSON
import PointMeshCrypto

/// A node handing part of the month's rights to issue it holds to a node that asked for them
/// (docs/rules.md, "The chain budget as rights to issue"): one move from the giver's
/// `rightsToIssue` counter to the receiver's, written only by the giver, so two grants never
/// hand the same rights. How much it hands is `RightsToIssue.grantable`.
public enum IssuanceGrant: NodeWrittenKind {
    public struct Request: Hashable, Sendable {
        public var month: CalendarMonth
        /// The node receiving the rights.
        public var receiver: NodeID
        /// What the receiver asked for.
        public var points: Points
        /// The asking node's id for its request: one request is granted once.
        public var request: RequestID

        public init(month: CalendarMonth, receiver: NodeID, points: Points, request: RequestID) {
            self.month = month
            self.receiver = receiver
            self.points = points
            self.request = request
        }
    }

    public static let name = "issuance-grant"
    public static let code = EntryCode(22)
    public static let scope = "issuance-grant"
    public static let summary = "A node handing part of the rights to issue it holds under a month's chain budget to the node that asked for them."

    enum Tag {
        static let month: UInt64 = 1
    }

    public static func idempotencyID(_ r: Request) -> String { SHA256Digest.hex(of: Array(canonicalForm(r).utf8)) }
    public static func canonicalForm(_ r: Request) -> String { "issuance-grant\n\(r.month)\n\(r.receiver)\n\(r.points)\n\(r.request)\n" }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> RightsToIssue? {
        try source.rightsToIssue(in: request.month)
    }

    public static func decide(_ request: Request, facts rights: RightsToIssue?, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard request.receiver != context.node else { throw .fieldNotApplicable(field: "receiver", why: "a node does not grant rights to itself") }
        let points = rights?.grantable(by: context.node, asked: request.points) ?? .zero
        guard points > .zero else { throw .noRightsToIssueHeld(request.month) }
        var writer = DetailsWriter()
        writer.text(Tag.month, request.month.description)
        return KindDecision(moves: [Move(debit: .rightsToIssue(of: context.node, in: request.month),
                                         credit: .rightsToIssue(of: request.receiver, in: request.month), amount: points)],
                            details: writer.details)
    }

    /// The month, the receiver and the rights handed over.
    public static func granted(_ entry: LedgerEntry) throws(DecodingError) -> (month: CalendarMonth, receiver: NodeID, points: Points) {
        guard let month = try entry.details.reader().text(Tag.month).flatMap(CalendarMonth.init), let move = entry.moves.first,
              let receiver = LedgerAccount.node(of: move.credit, counting: .rightsToIssue, in: month)
        else { throw .invalid("issuance grant \(entry.id) lacks its month or receiver") }
        return (month, receiver, move.amount)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let granted = try granted(entry)
        return ["month": .string(granted.month.description), "to_node": .string(granted.receiver.rawValue), "points": .integer(granted.points.value)]
    }
}
