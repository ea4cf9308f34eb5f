import PointMeshCommandLine
import PointMeshJSON

/// `pointmesh campaign set|withdraw|list|green`: HQ's campaigns and green categories.
enum CampaignCommand: Command {
    static let name = "campaign"
    static let summary = "publish, withdraw or list campaigns; mark green categories (HQ)"
    static let id = Option("id", .value("ID"), "the campaign")
    static let displayName = Option("name", .value("TEXT"), "with set: its name")
    static let starts = Option("starts", .value("TIME"), "with set: when it starts (RFC 3339)")
    static let ends = Option("ends", .value("TIME"), "with set: when it ends (RFC 3339)")
    static let multiplier = Option("multiplier", .value("N"), "with set: items earn N times the base rate")
    static let bonus = Option("bonus", .value("N"), "with set: N bonus points per receipt")
    static let category = Option("category", .values("C"), "with set: a category it applies to (every item when none); with green: the category")
    static let store = Option("store", .values("NODE"), "with set: a store it applies to (every store when none)")
    static let green = Option("green", "with set: its points are green (its categories must be green first)")
    static let backdateReason = Option("backdate-reason", .value("TEXT"), "with set: why a campaign that starts before now credits receipts already rung up")
    static let options: [Option] = [id, displayName, starts, ends, multiplier, bonus, category, store, green, backdateReason] + NodeClient.options
    static let forms = ["set --id ID --name TEXT --starts TIME --ends TIME (--multiplier N | --bonus N) [options]", "withdraw --id ID [options]", "list [options]", "green --category C [options]"]
    static let description = """
        `set` publishes a campaign (sent again, it may change only the name and the end):
        purchases from --starts to --ends at the listed stores earn N times the base rate on
        items of the listed categories (the whole receipt when none), or N bonus points per
        receipt. Each item takes the largest multiplier; bonuses add. Stores that learn it late
        credit the receipts they rang up in its window, once. A campaign that starts before now
        needs --backdate-reason: the receipts already rung up earn it as late credits, counted
        against issuance budgets with that reason. `withdraw` ends it now; points earned stay.
        `green` marks a category green: its purchases earn green points.
        """
    static let epilogue = NodeClient.exitStatuses
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        switch arguments.positional.first {
        case "set":
            let id = try arguments.required(Self.id)
            var body: [String: JSONValue] = ["name": .string(try arguments.required(Self.displayName)), "starts_at": .string(try arguments.required(Self.starts)),
                                       "ends_at": .string(try arguments.required(Self.ends)), "categories": .strings(arguments.all(Self.category)),
                                       "stores": .strings(arguments.all(Self.store))]
            switch (try arguments.integer(Self.multiplier), try arguments.integer(Self.bonus)) {
            case (let n?, nil): body["multiplier"] = .integer(n)
            case (nil, let bonus?): body["bonus_points"] = .integer(bonus)
            default: throw UsageError(message: "give exactly one of --multiplier N and --bonus N")
            }
            if arguments.has(Self.green) { body["green"] = .bool(true) }
            if let reason = arguments.value(Self.backdateReason) { body["backdate_reason"] = .string(reason) }
            return try node.call("PUT", "/v1/campaigns/\(id.urlPathEscaped)", body: body) { answer in
                let effect = answer.object["multiplier"]?.integerValue.map { "\($0)x points" } ?? "\(answer.int("bonus_points")) bonus points"
                let what = "campaign \(id) (\(answer.string("name")): \(effect) from \(answer.string("starts_at")) to \(answer.string("ends_at")))"
                return answer.replayed ? "\(what) was \(answer.replayNote); nothing changed" : "published \(what)"
            }
        case "withdraw":
            let id = try arguments.required(Self.id)
            return try node.call("DELETE", "/v1/campaigns/\(id.urlPathEscaped)") { "campaign \(id) withdrawn from \($0.string("withdrawn_at")) on" }
        case "list":
            return try node.call("GET", "/v1/campaigns") { answer in
                let rows = (answer.object["campaigns"]?.arrayValue ?? []).map { campaign -> [String] in
                    let effect = campaign["multiplier"]?.integerValue.map { "\($0)x" } ?? "+\(campaign["bonus_points"]?.integerValue ?? 0)"
                    let categories = (campaign["categories"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ",")
                    let state = campaign["withdrawn_at"]?.stringValue ?? ""
                    return [campaign["campaign_id"]?.stringValue ?? "", effect, categories.isEmpty ? "whole receipt" : categories,
                            campaign["starts_at"]?.stringValue ?? "", campaign["ends_at"]?.stringValue ?? "", state.isEmpty ? "" : "withdrawn \(state)"]
                }
                let green = (answer.object["green_categories"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", ")
                return (rows.isEmpty ? ["no campaigns"] : Table.render(header: ["CAMPAIGN", "EFFECT", "ON", "FROM", "TO", ""], rows: rows))
                    .joined(separator: "\n") + "\ngreen categories: \(green.isEmpty ? "none" : green)"
            }
        case "green":
            let category = try arguments.required(Self.category)
            return try node.call("PUT", "/v1/categories/\(category.urlPathEscaped)/green") { _ in "category \(category) earns green points" }
        default:
            throw UsageError(message: "`campaign` takes `set`, `withdraw`, `list` or `green`")
        }
    }
}

/// `pointmesh reward set|withdraw|list`: the rewards catalog.
enum RewardCommand: Command {
    static let name = "reward"
    static let summary = "publish, withdraw or list rewards (HQ)"
    static let id = Option("id", .value("ID"), "the reward")
    static let displayName = Option("name", .value("TEXT"), "with set: its name")
    static let points = Option("points", .value("N"), "with set: its cost (for a bill deduction, points per yuan of discount)")
    static let kind = Option("kind", .value("voucher|goods|service|partner|bill_deduction"), "with set: what it is")
    static let partner = Option("partner", .value("NAME"), "with set: the partner that provides it")
    static let greenOnly = Option("green-only", "with set: only green points pay for it")
    static let starts = Option("starts", .value("TIME"), "with set: redeemable from (RFC 3339)")
    static let ends = Option("ends", .value("TIME"), "with set: redeemable until (RFC 3339)")
    static let options: [Option] = [id, displayName, points, kind, partner, greenOnly, starts, ends] + NodeClient.options
    static let forms = ["set --id ID --name TEXT --points N --kind KIND [options]", "withdraw --id ID [options]", "list [options]"]
    static let description = """
        `set` publishes a reward costing N points (for a bill deduction, N points per yuan of
        discount). `pointmesh redeem --reward ID` pays its cost; a green-only reward takes
        green points only. `withdraw` stops its redemptions.
        """
    static let epilogue = NodeClient.exitStatuses
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        switch arguments.positional.first {
        case "set":
            let id = try arguments.required(Self.id)
            var body: [String: JSONValue] = ["name": .string(try arguments.required(Self.displayName)), "kind": .string(try arguments.required(Self.kind)),
                                       "points": .integer(try arguments.requiredInteger(Self.points))]
            if let partner = arguments.value(Self.partner) { body["partner"] = .string(partner) }
            if arguments.has(Self.greenOnly) { body["green_only"] = .bool(true) }
            if let starts = arguments.value(Self.starts) { body["starts_at"] = .string(starts) }
            if let ends = arguments.value(Self.ends) { body["ends_at"] = .string(ends) }
            return try node.call("PUT", "/v1/rewards/\(id.urlPathEscaped)", body: body) { answer in
                let what = "reward \(id) (\(answer.string("name")), \(answer.string("kind")), \(answer.int("points")) points)"
                return answer.replayed ? "\(what) was \(answer.replayNote); nothing changed" : "published \(what)"
            }
        case "withdraw":
            let id = try arguments.required(Self.id)
            return try node.call("DELETE", "/v1/rewards/\(id.urlPathEscaped)") { "reward \(id) withdrawn from \($0.string("withdrawn_at")) on" }
        case "list":
            return try node.call("GET", "/v1/rewards") { answer in
                let rows = (answer.object["rewards"]?.arrayValue ?? []).map { reward -> [String] in
                    [reward["reward_id"]?.stringValue ?? "", reward["name"]?.stringValue ?? "", reward["kind"]?.stringValue ?? "", "\(reward["points"]?.integerValue ?? 0)",
                     reward["green_only"]?.boolValue == true ? "green only" : "", reward["available"]?.boolValue == true ? "available" : "unavailable"]
                }
                return rows.isEmpty ? "no rewards" : Table.render(header: ["REWARD", "NAME", "KIND", "POINTS", "", ""], rows: rows).joined(separator: "\n")
            }
        default:
            throw UsageError(message: "`reward` takes `set`, `withdraw` or `list`")
        }
    }
}

/// `pointmesh budget set|show`: monthly issuance budgets.
enum BudgetCommand: Command {
    static let name = "budget"
    static let summary = "set or show monthly issuance budgets (HQ)"
    static let month = Option("month", .value("YYYY-MM"), required: true, "the calendar month (UTC)")
    static let scope = Option("scope", .value("chain|NODE"), "with set: the chain, or one store")
    static let points = Option("points", .value("N"), "with set: the points it may issue that month")
    static let options: [Option] = [month, scope, points] + NodeClient.options
    static let forms = ["set --month YYYY-MM --scope chain|NODE --points N [options]", "show --month YYYY-MM [options]"]
    static let description = """
        `set` limits the points the chain, or one store, may issue in a calendar month (UTC),
        campaign points included. A store refuses an earning past a budget it knows of unless
        the purchase carries budget_override with a reason (`pointmesh earn --budget-override`).
        `show` lists the month's budgets and what each has used, as the node knows.
        """
    static let epilogue = NodeClient.exitStatuses
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let month = try arguments.required(Self.month)
        switch arguments.positional.first {
        case "set":
            let scope = try arguments.required(Self.scope)
            let body: [String: JSONValue] = ["points": .integer(try arguments.requiredInteger(Self.points))]
            return try node.call("PUT", "/v1/budgets/\(month.urlPathEscaped)/\(scope.urlPathEscaped)", body: body) { answer in
                "budget for \(answer.string("scope")) in \(answer.string("month")): \(answer.int("points")) points"
            }
        case "show":
            return try node.call("GET", "/v1/budgets/\(month.urlPathEscaped)") { answer in
                let rows = (answer.object["budgets"]?.arrayValue ?? []).map { budget -> [String] in
                    [budget["scope"]?.stringValue ?? "", "\(budget["points"]?.integerValue ?? 0)", "\(budget["used"]?.integerValue ?? 0)", "\(budget["left"]?.integerValue ?? 0)"]
                }
                return rows.isEmpty ? "no budget for \(month)" : Table.render(header: ["SCOPE", "BUDGET", "USED", "LEFT"], rows: rows).joined(separator: "\n")
            }
        default:
            throw UsageError(message: "`budget` takes `set` or `show`")
        }
    }
}
