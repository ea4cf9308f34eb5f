import PointMeshJSON

/// What HQ says its points are worth: `points` points are worth `fen` fen (200 and 2,500: one
/// point is 12.5 fen). Finance values the outstanding points with it (`LiabilityReport`).
public struct PointValue: Hashable, Sendable {
    public var version: RequestID
    public var points: Points
    public var fen: Fen
    /// When the version was published (its entry's instant).
    public var publishedAt: Int64

    public init(version: RequestID, points: Points, fen: Fen, publishedAt: Int64) {
        self.version = version
        self.points = points
        self.fen = fen
        self.publishedAt = publishedAt
    }

    /// `amount` points in fen, rounded half away from zero.
    public func fen(of amount: Points) -> Int64 {
        let (quotient, remainder) = (amount.value * fen.value).quotientAndRemainder(dividingBy: points.value)
        return quotient + (2 * abs(remainder) >= points.value ? (amount.value < 0 ? -1 : 1) : 0)
    }
}

/// Publishing a version of the point value: `PUT /v1/point-value`. Versioned like the other
/// definitions: the latest in ledger order is in force (`Catalog.pointValue`).
public enum PointValueKind: EntryKindRule {
    public typealias Request = PointValue
    public typealias Facts = Void
    public static let name = "point-value"
    public static let code = EntryCode(20)
    public static let folds: StoreFolds = .catalog
    public static let scope = "point-value"
    public static let method = "PUT"
    public static let route = "/v1/point-value"
    public static let access = Access.headquarters
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Publish what points are worth: `points` points are worth `fen` fen. The liability report values the outstanding points with the latest version."
    /// The largest side of the ratio: a point's value is kept exact, and the liability of every
    /// point the chain can hold stays far from overflow.
    public static let maximumSide: Int64 = 1_000_000

    enum Fields {
        static let version = FieldSpec("version_id", .id, "The version's id; publishing it again with the same body answers 200.")
        static let points = FieldSpec("points", .positiveInteger(maximum: maximumSide), "How many points …")
        static let fen = FieldSpec("fen", .positiveInteger(maximum: maximumSide), "… are worth this many fen.")
    }

    public static let requestFields = [Fields.version, Fields.points, Fields.fen]
    public static let responseFields = [
        FieldSpec("version_id", .id, "The version."), FieldSpec("points", .integer, "How many points …"), FieldSpec("fen", .integer, "… are worth this many fen."),
        FieldSpec("published_at", .time, "When it was published."), FieldSpec("entry_id", .text, "The entry that published it."), AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = []

    enum Tag {
        static let points: UInt64 = 1
        static let fen: UInt64 = 2
    }

    public static func request(from body: JSONObject) throws(RequestError) -> PointValue {
        PointValue(version: try body.identifier(Fields.version), points: Points(try body.positiveInteger(Fields.points)),
                   fen: Fen(try body.positiveInteger(Fields.fen)), publishedAt: 0)
    }

    public static func idempotencyID(_ request: PointValue) -> String { request.version.rawValue }
    public static func canonicalForm(_ r: PointValue) -> String { "point-value\n\(r.version)\n\(r.points)\n\(r.fen)\n" }
    public static func facts(for request: PointValue, from source: some FactsSource, context: RequestContext) throws {}

    public static func decide(_ request: PointValue, facts: Void, context: RequestContext) throws(LedgerError) -> KindDecision {
        var writer = DetailsWriter()
        EntryLinks.add(Catalog.link, to: &writer)
        writer.number(Tag.points, request.points.value)
        writer.number(Tag.fen, request.fen.value)
        return KindDecision(moves: [], details: writer.details)
    }

    /// The version an entry published.
    public static func value(_ entry: LedgerEntry) throws(DecodingError) -> PointValue {
        let reader = try entry.details.reader()
        guard let version = try? RequestID(validating: entry.idempotencyKey.id), let points = try reader.number(Tag.points),
              let fen = try reader.number(Tag.fen), (1...maximumSide).contains(points), (1...maximumSide).contains(fen)
        else { throw .invalid("point value entry \(entry.id) is incomplete") }
        return PointValue(version: version, points: Points(points), fen: Fen(fen), publishedAt: entry.timestamp.wallMilliseconds)
    }

    /// A version as the API shows it.
    public static func json(_ value: PointValue) -> JSONValue {
        .object(["version_id": .string(value.version.rawValue), "points": .integer(value.points.value), "fen": .integer(value.fen.value),
                 "published_at": .string(RFC3339.format(milliseconds: value.publishedAt))])
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        guard case .object(var fields) = json(try value(entry)) else { return [] }
        fields["entry_id"] = .string(entry.id.description)
        fields["replayed"] = .bool(replayed)
        return Array(JSONValue.object(fields).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        guard case .object(let fields) = json(try value(entry)) else { return [:] }
        return fields
    }
}
