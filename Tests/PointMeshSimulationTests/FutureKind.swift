import PointMeshCore
import PointMeshJSON

/// A kind no release knows (it is not in `EntryKinds.all`), as a newer store would write it:
/// the simulation mixes its entries in, and every other node must apply their moves, forward
/// them and take the entries after them, without knowing what they mean.
enum StampCard: EntryKindRule {
    struct Request: Hashable, Sendable {
        var card: String
        var account: AccountID
        var points: Points
    }

    static let name = "stamp-card"
    static let code = EntryCode(99)
    static let scope = "stamp-card"
    static let route = "/v9/stamp-cards"
    static let access = Access.till
    static let summary = "A kind from the future."
    static let requestFields: [FieldSpec] = []
    static let responseFields: [FieldSpec] = []
    static let refusals: [(status: Int, code: String, when: String)] = []

    static func request(from body: JSONObject) throws(RequestError) -> Request { throw .invalidJSON("not served") }
    static func idempotencyID(_ request: Request) -> String { request.card }
    static func canonicalForm(_ request: Request) -> String { "stamp\n\(request.card)\n\(request.account)\n\(request.points)\n" }
    static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws {}

    static func decide(_ request: Request, facts: Void, context: RequestContext) throws(LedgerError) -> KindDecision {
        var details = DetailsWriter()
        details.text(41, request.card)
        return KindDecision(
            moves: [Move(debit: LedgerAccount(unchecked: "@stamp-cards:\(context.node.rawValue)"), credit: LedgerAccount(request.account),
                         amount: request.points, userData: 1)],
            details: details.details)
    }

    static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] { [] }
    static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] { [:] }
}
