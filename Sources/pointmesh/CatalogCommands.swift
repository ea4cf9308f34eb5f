import PointMeshCommandLine

/// `pointmesh campaign set|withdraw|list|green`: HQ's campaigns and green categories.
enum CampaignCommand: Command {
    static let name = "campaign"
    static let summary = "publish, withdraw or list campaigns; mark green categories (HQ)"
    static let usage = """
        Usage: pointmesh campaign set --id ID --name TEXT --starts TIME --ends TIME (--multiplier N | --bonus N)
                                      [--category C]... [--store NODE]... [--green] [--backdate-reason TEXT]
                                      [--node URL] [--json]
               pointmesh campaign withdraw --id ID [--node URL] [--json]
               pointmesh campaign list [--node URL] [--json]
               pointmesh campaign green --category C [--node URL] [--json]

        `set` publishes a campaign (sent again, it may change only the name and the end):
        purchases from --starts to --ends (RFC 3339) at the listed stores (every store when
        none) earn N times the base rate on items of the listed categories (the whole receipt
        when none), or N bonus points per receipt; --green makes its points green (its
        categories must be marked green first). Each item takes the largest multiplier;
        bonuses add. Stores that learn it late credit the receipts they rang up in its window,
        once. A campaign that starts before now needs --backdate-reason: the receipts already
        rung up earn it as late credits, counted against issuance budgets with that reason.
        `withdraw` ends it now; points earned stay. `green` marks a category green: its
        purchases earn green points.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["id", "name", "starts", "ends", "multiplier", "bonus", "category", "store", "backdate-reason"])
    static let switches = NodeClient.switches.union(["green"])
    static let repeatable: Set<String> = ["category", "store"]
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        switch arguments.positional.first {
        case "set":
            let id = try arguments.required("id")
            var body: [String: Any] = ["name": try arguments.required("name"), "starts_at": try arguments.required("starts"),
                                       "ends_at": try arguments.required("ends"), "categories": arguments.all("category"), "stores": arguments.all("store")]
            switch (try arguments.integer("multiplier"), try arguments.integer("bonus")) {
            case (let n?, nil): body["multiplier"] = n
            case (nil, let bonus?): body["bonus_points"] = bonus
            default: throw UsageError(message: "give exactly one of --multiplier N and --bonus N")
            }
            if arguments.has("green") { body["green"] = true }
            if let reason = arguments.value("backdate-reason") { body["backdate_reason"] = reason }
            return try node.call("PUT", "/v1/campaigns/\(id.urlPathEscaped)", body: body) { answer in
                let effect = answer.object["multiplier"].map { "\($0)x points" } ?? "\(answer.int("bonus_points")) bonus points"
                let what = "campaign \(id) (\(answer.string("name")): \(effect) from \(answer.string("starts_at")) to \(answer.string("ends_at")))"
                return answer.replayed ? "\(what) was \(answer.replayNote); nothing changed" : "published \(what)"
            }
        case "withdraw":
            let id = try arguments.required("id")
            return try node.call("DELETE", "/v1/campaigns/\(id.urlPathEscaped)") { "campaign \(id) withdrawn from \($0.string("withdrawn_at")) on" }
        case "list":
            return try node.call("GET", "/v1/campaigns") { answer in
                let rows = (answer.object["campaigns"] as? [[String: Any]] ?? []).map { campaign -> [String] in
                    let effect = campaign["multiplier"].map { "\($0)x" } ?? "+\(campaign["bonus_points"] ?? 0)"
                    let categories = (campaign["categories"] as? [String] ?? []).joined(separator: ",")
                    let state = campaign["withdrawn_at"] as? String ?? ""
                    return [campaign["campaign_id"] as? String ?? "", effect, categories.isEmpty ? "whole receipt" : categories,
                            campaign["starts_at"] as? String ?? "", campaign["ends_at"] as? String ?? "", state.isEmpty ? "" : "withdrawn \(state)"]
                }
                let green = (answer.object["green_categories"] as? [String] ?? []).joined(separator: ", ")
                return (rows.isEmpty ? ["no campaigns"] : Table.render(header: ["CAMPAIGN", "EFFECT", "ON", "FROM", "TO", ""], rows: rows))
                    .joined(separator: "\n") + "\ngreen categories: \(green.isEmpty ? "none" : green)"
            }
        case "green":
            let category = try arguments.required("category")
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
    static let usage = """
        Usage: pointmesh reward set --id ID --name TEXT --points N --kind voucher|goods|service|partner|bill_deduction
                                    [--partner NAME] [--green-only] [--starts TIME] [--ends TIME] [--node URL] [--json]
               pointmesh reward withdraw --id ID [--node URL] [--json]
               pointmesh reward list [--node URL] [--json]

        `set` publishes a reward costing N points (for a bill deduction, N points per yuan of
        discount). `pointmesh redeem --reward ID` pays its cost; a green-only reward takes
        green points only. `withdraw` stops its redemptions.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["id", "name", "points", "kind", "partner", "starts", "ends"])
    static let switches = NodeClient.switches.union(["green-only"])
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        switch arguments.positional.first {
        case "set":
            let id = try arguments.required("id")
            var body: [String: Any] = ["name": try arguments.required("name"), "kind": try arguments.required("kind"),
                                       "points": try arguments.integer("points") ?? { throw UsageError(message: "--points is required") }()]
            if let partner = arguments.value("partner") { body["partner"] = partner }
            if arguments.has("green-only") { body["green_only"] = true }
            if let starts = arguments.value("starts") { body["starts_at"] = starts }
            if let ends = arguments.value("ends") { body["ends_at"] = ends }
            return try node.call("PUT", "/v1/rewards/\(id.urlPathEscaped)", body: body) { answer in
                let what = "reward \(id) (\(answer.string("name")), \(answer.string("kind")), \(answer.int("points")) points)"
                return answer.replayed ? "\(what) was \(answer.replayNote); nothing changed" : "published \(what)"
            }
        case "withdraw":
            let id = try arguments.required("id")
            return try node.call("DELETE", "/v1/rewards/\(id.urlPathEscaped)") { "reward \(id) withdrawn from \($0.string("withdrawn_at")) on" }
        case "list":
            return try node.call("GET", "/v1/rewards") { answer in
                let rows = (answer.object["rewards"] as? [[String: Any]] ?? []).map { reward -> [String] in
                    [reward["reward_id"] as? String ?? "", reward["name"] as? String ?? "", reward["kind"] as? String ?? "", "\(reward["points"] ?? 0)",
                     reward["green_only"] as? Bool == true ? "green only" : "", reward["available"] as? Bool == true ? "available" : "unavailable"]
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
    static let usage = """
        Usage: pointmesh budget set --month YYYY-MM --scope chain|NODE --points N [--node URL] [--json]
               pointmesh budget show --month YYYY-MM [--node URL] [--json]

        `set` limits the points the chain, or one store, may issue in a calendar month (UTC),
        campaign points included. A store refuses an earning past a budget it knows of unless
        the purchase carries budget_override with a reason (`pointmesh earn --budget-override`).
        `show` lists the month's budgets and what each has used, as the node knows.

        \(NodeClient.optionsHelp)
        """
    static let valued: Set<String> = NodeClient.valued.union(["month", "scope", "points"])
    static let switches = NodeClient.switches
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        let month = try arguments.required("month")
        switch arguments.positional.first {
        case "set":
            let scope = try arguments.required("scope")
            let body: [String: Any] = ["points": try arguments.integer("points") ?? { throw UsageError(message: "--points is required") }()]
            return try node.call("PUT", "/v1/budgets/\(month.urlPathEscaped)/\(scope.urlPathEscaped)", body: body) { answer in
                "budget for \(answer.string("scope")) in \(answer.string("month")): \(answer.int("points")) points"
            }
        case "show":
            return try node.call("GET", "/v1/budgets/\(month.urlPathEscaped)") { answer in
                let rows = (answer.object["budgets"] as? [[String: Any]] ?? []).map { budget -> [String] in
                    [budget["scope"] as? String ?? "", "\(budget["points"] ?? 0)", "\(budget["used"] ?? 0)", "\(budget["left"] ?? 0)"]
                }
                return rows.isEmpty ? "no budget for \(month)" : Table.render(header: ["SCOPE", "BUDGET", "USED", "LEFT"], rows: rows).joined(separator: "\n")
            }
        default:
            throw UsageError(message: "`budget` takes `set` or `show`")
        }
    }
}
