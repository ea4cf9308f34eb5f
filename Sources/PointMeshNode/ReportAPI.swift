import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

/// HQ's reports: the liability and the activity of a period, each with how complete it is
/// (`OriginFreshness`), as JSON or as CSV (`ReportCSV`).
extension LedgerAPI {
    /// The longest period an activity report covers.
    static let maximumReportDays: Int64 = 400

    /// `GET /v1/reports/liability?as_of=T&format=json|csv`.
    func liabilityReport(_ request: HTTPRequest) -> HTTPResponse {
        report(request) { () throws(APIError) in
            let now = clock.now()
            let asOf = try QueryParameters.time(request.query, "as_of")
            return try reading { reader -> JSONValue in
                try reader.snapshot {
                    let report = try reader.liabilityReport(asOf: asOf, now: now)
                    return report.json(value: try reader.catalog().pointValue, freshness: try freshness(reader, now: now), now: now)
                }
            }
        }
    }

    /// `GET /v1/reports/activity?from=T&to=T&by=day|store|campaign|reward&format=json|csv`.
    func activityReport(_ request: HTTPRequest) -> HTTPResponse {
        report(request) { () throws(APIError) in
            let from = try QueryParameters.requiredTime(request.query, "from"), to = try QueryParameters.requiredTime(request.query, "to")
            guard from < to else { throw .invalidField("to", "must be after from") }
            guard to - from <= Self.maximumReportDays * CivilCalendar.millisecondsPerDay else {
                throw .invalidField("to", "a report covers at most \(Self.maximumReportDays) days")
            }
            guard let grouping = ActivityReport.Grouping(rawValue: request.query["by"] ?? "day") else {
                throw .invalidField("by", "must be one of \(ActivityReport.Grouping.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let now = clock.now()
            return try reading { reader -> JSONValue in try reader.snapshot {
                let catalog = try reader.catalog()
                let report = try reader.activityReport(period: from..<to, grouping: grouping, catalog: catalog, now: now)
                var budgets: [BudgetUse] = []
                var month = CalendarMonth(containing: from)
                while month <= CalendarMonth(containing: to - 1) {
                    budgets += try reader.budgetUse(in: month)
                    month = month.next
                }
                return report.json(budgets: budgets, freshness: try freshness(reader, now: now), now: now)
            } }
        }
    }

    /// For each origin, how complete this node's copy of its entries is, as the reader's
    /// snapshot holds them: each origin's last entry (an origin's entries are in time order by
    /// sequence), so no query reads more than a row per origin.
    private func freshness(_ reader: LedgerReader, now: Int64) throws -> [OriginFreshness] {
        let held = try reader.versionVector(of: store.versionVector.sequences.keys)
        var newest: [NodeID: Int64] = [:]
        for origin in held.sequences.keys { newest[origin] = try reader.lastTimestamp(of: origin).wallMilliseconds }
        return OriginFreshness.all(local: store.nodeID, now: now, newest: newest, held: held, peers: gossip.peersForFreshness())
    }

    /// A report's answer in the format asked for.
    private func report(_ request: HTTPRequest, _ body: () throws(APIError) -> JSONValue) -> HTTPResponse {
        do throws(APIError) {
            let csv: Bool
            switch request.query["format"] ?? "json" {
            case "json": csv = false
            case "csv": csv = true
            default: throw .invalidField("format", "must be json or csv")
            }
            let report = try body()
            guard csv else { return .json(200, Array(report.serialized.utf8)) }
            let text = ReportCSV.document(of: report)
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/csv; charset=utf-8")], body: Array(text.utf8))
        } catch {
            return error.response
        }
    }
}

extension Endpoint {
    private static let formatParameter: JSONValue = .object([
        "name": .string("format"), "in": .string("query"), "required": .bool(false),
        "description": .string("`csv`: RFC 4180, one row per figure: `section,key,field,value`."),
        "schema": .object(["type": .string("string"), "enum": .array([.string("json"), .string("csv")]), "default": .string("json")]),
    ])

    static let liabilityReport = Endpoint(
        "GET", "/v1/reports/liability", access: .headquarters, operationID: "getLiabilityReport",
        summary: "The points the chain owes at `as_of` (default now, or the newest entry held if a store's clock put it later): spendable points (the sum of every balance) by issuing store, with the green part and the pools' part, pending points, debt, the expiry schedule for 12 months, the value in fen less expected breakage, and how complete this node's copy of each store's entries is.",
        parameters: [.object(["name": .string("as_of"), "in": .string("query"), "required": .bool(false),
                              "schema": .object(["type": .string("string"), "format": .string("date-time")])]), formatParameter],
        answer: .read(ResponseSchemas.liabilityReport), refusals: [(400, ["invalid_field"])],
        handler: .read { api, request, _ in api.liabilityReport(request) })

    static let activityReport = Endpoint(
        "GET", "/v1/reports/activity", access: .headquarters, operationID: "getActivityReport",
        summary: "What happened to points from `from` to `to` (at most 400 days), by day, store, campaign or reward: issued (campaign, green and pooled parts), redeemed, expired, refunded, debt repaid, compensated, deducted, transferred; each budget's use in the months it spans; how complete this node's copy of each store's entries is.",
        parameters: [APIDescription.timeParameter("from"), APIDescription.timeParameter("to"),
                     .object(["name": .string("by"), "in": .string("query"), "required": .bool(false),
                              "schema": .object(["type": .string("string"), "enum": .array(ActivityReport.Grouping.allCases.map { .string($0.rawValue) }),
                                                 "default": .string("day")])]), formatParameter],
        answer: .read(ResponseSchemas.activityReport), refusals: [(400, ["invalid_field", "missing_field"])],
        handler: .read { api, request, _ in api.activityReport(request) })
}
