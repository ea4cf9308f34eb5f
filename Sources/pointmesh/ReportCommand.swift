import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshJSON

/// `pointmesh report liability|activity`: HQ's reports as a readable table, JSON or CSV.
enum ReportCommand: Command {
    static let name = "report"
    static let summary = "show the liability or a period's activity"
    static let asOf = Option("as-of", .value("TIME"), "liability: the instant (RFC 3339; default now, or the newest entry held if later)")
    static let from = Option("from", .value("TIME"), "activity: the period's start (RFC 3339)")
    static let to = Option("to", .value("TIME"), "activity: the period's end, excluded (RFC 3339)")
    static let by = Option("by", .value("day|store|campaign|reward"), "activity: how rows are keyed (default day)")
    static let csv = Option("csv", "print RFC 4180 CSV (section,key,field,value) instead of a table")
    static let options: [Option] = [asOf, from, to, by, csv] + NodeClient.options
    static let forms = ["liability [--as-of TIME] [options]", "activity --from TIME --to TIME [--by KEY] [options]"]
    static let description = """
        Prints HQ's reports as this node computes them from the entries it holds. `liability`:
        the points owed (by issuing store, with the green part and the pools' part; pending
        apart), debt, what expires in the next 12 months, and their value in fen less expected
        breakage once a point value is published. `activity`: points issued, redeemed, expired,
        refunded, compensated, deducted and transferred in the period, with budget use. Both end
        with each store's freshness: a store marked behind may be missing from the figures.
        """
    static let epilogue = NodeClient.exitStatuses
    /// Seconds a report waits by default: the liability at a past instant folds every account
    /// (about 135 s over 10 million entries on the development machine).
    static let timeoutSeconds = 600.0
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments, defaultTimeout: Self.timeoutSeconds)
        let path: String
        switch arguments.positional.first {
        case "liability":
            path = "/v1/reports/liability" + (arguments.value(Self.asOf).map { "?as_of=\($0.urlPathEscaped)" } ?? "")
        case "activity":
            guard let from = arguments.value(Self.from), let to = arguments.value(Self.to) else {
                throw UsageError(message: "`report activity` needs --from TIME and --to TIME")
            }
            path = "/v1/reports/activity?from=\(from.urlPathEscaped)&to=\(to.urlPathEscaped)&by=\((arguments.value(Self.by) ?? "day").urlPathEscaped)"
        case let other:
            throw UsageError(message: other.map { "unknown report '\($0)': liability or activity" } ?? "which report: liability or activity")
        }
        let answer: NodeClient.Answer
        do {
            answer = try node.send("GET", path)
        } catch let failure as NodeClient.Failure {
            return node.report(failure)
        }
        if node.json {
            print(answer.text)
        } else if arguments.has(Self.csv) {
            print(ReportCSV.document(of: .object(answer.object)), terminator: "")
        } else {
            print((arguments.positional.first == "liability" ? liability(answer.object) : activity(answer.object)).joined(separator: "\n"))
        }
        return ExitStatus.success
    }

    private static func int(_ value: JSONValue?) -> String { String(value?.integerValue ?? 0) }

    private static func liability(_ report: [String: JSONValue]) -> [String] {
        let outstanding = report["outstanding"]?.objectValue ?? [:]
        var lines = ["liability as of \(report["as_of"]?.stringValue ?? "?")"]
        lines += Table.render(header: ["OUTSTANDING", "POINTS"], rows: [
            ["spendable", int(outstanding["points"])], ["  of them green", int(outstanding["green_points"])],
            ["  of them in family pools", int(outstanding["pool_points"])], ["pending", int(outstanding["pending_points"])],
            ["debt owed back", int(outstanding["debt_points"])],
        ])
        if let value = report["value"]?.objectValue {
            lines.append("value: \(int(value["points"])) points = \(int(value["fen"])) fen; gross \(int(value["gross_fen"])) fen, "
                         + "breakage \(value["breakage_rate"]?.stringValue ?? "unknown (no lot has reached its expiry yet)"), "
                         + "liability \(int(value["liability_fen"])) fen")
        } else {
            lines.append("value: no point value published (PUT /v1/point-value), so no liability in fen")
        }
        lines.append("")
        lines += Table.render(header: ["STORE", "POINTS", "GREEN"], rows: (report["by_store"]?.arrayValue ?? []).map {
            [$0["store"]?.stringValue ?? "", int($0["points"]), int($0["green_points"])]
        })
        lines.append("")
        lines += Table.render(header: ["EXPIRES IN", "POINTS"], rows: (report["expiry_schedule"]?.arrayValue ?? []).map {
            [$0["month"]?.stringValue ?? "", int($0["points"])]
        })
        return lines + freshness(report)
    }

    private static func activity(_ report: [String: JSONValue]) -> [String] {
        var lines = ["activity from \(report["from"]?.stringValue ?? "?") to \(report["to"]?.stringValue ?? "?") by \(report["by"]?.stringValue ?? "?")"]
        let columns = ActivityReport.Totals.columns
        let rows = (report["rows"]?.arrayValue ?? []) + [report["total"] ?? .null]
        lines += Table.render(header: ["KEY"] + columns.map { $0.uppercased() }, rows: rows.map { row in
            [row["key"]?.stringValue ?? ""] + columns.map { int(row[$0]) }
        })
        let budgets = report["budgets"]?.arrayValue ?? []
        if !budgets.isEmpty {
            lines.append("")
            lines += Table.render(header: ["MONTH", "BUDGET", "POINTS", "USED"], rows: budgets.map {
                [$0["month"]?.stringValue ?? "", $0["scope"]?.stringValue ?? "", int($0["points"]), int($0["used"])]
            })
        }
        return lines + freshness(report)
    }

    private static func freshness(_ report: [String: JSONValue]) -> [String] {
        [""] + Table.render(header: ["NODE", "NEWEST ENTRY", "CONTACT", "BEHIND"], rows: (report["freshness"]?.arrayValue ?? []).map { row in
            let behind = row["behind"]?.boolValue == true
            let seconds = row["behind_seconds"]?.integerValue.map { "\($0) s" } ?? "unknown"
            return [row["node_id"]?.stringValue ?? "", row["newest_entry_at"]?.stringValue ?? "none", row["contact"]?.stringValue ?? "",
                    behind ? "yes, complete as of \(seconds) ago" : "no"]
        })
    }
}
