import PointMeshCore
import PointMeshJSON
import PointMeshStore

/// HQ's catalog as the node knows it: campaigns, rewards and budgets with their use.
extension LedgerAPI {
    /// `GET /v1/campaigns`: every campaign, by id.
    func campaigns() throws(APIError) -> [UInt8] {
        let catalog = try reading { try $0.catalog() }
        let campaigns = catalog.campaignsInIDOrder.map(CatalogAnswers.json)
        return Array(JSONValue.object([
            "campaigns": .array(campaigns), "green_categories": .array(catalog.greenCategories.sorted().map { .string($0.rawValue) }),
        ]).serialized.utf8)
    }

    /// `GET /v1/rewards`: every reward, by id, with whether it can be redeemed now.
    func rewards() throws(APIError) -> [UInt8] {
        let catalog = try reading { try $0.catalog() }
        let now = clock.now()
        let rewards: [JSONValue] = catalog.rewards.values.sorted { $0.id < $1.id }.map { reward in
            guard case .object(var fields) = CatalogAnswers.json(reward) else { return .null }
            fields["available"] = .bool(reward.isAvailable(at: now))
            return .object(fields)
        }
        return Array(JSONValue.object(["rewards": .array(rewards)]).serialized.utf8)
    }

    /// `GET /v1/budgets/{month}`: each scope's budget and the points issued against it, as this
    /// node knows them; the chain's with who holds its rights to issue.
    func budgets(_ parameters: [String: String]) throws(APIError) -> [UInt8] {
        guard let text = parameters["month"], let month = CalendarMonth(text) else {
            throw .invalidField("month", "must be a month as YYYY-MM, such as 2026-12")
        }
        let (use, rights) = try reading { (try $0.budgetUse(in: month), try $0.rightsToIssue(in: month)) }
        let rows: [JSONValue] = use.map { budget in
            var row: [String: JSONValue] = [
                "scope": .string(budget.scope.description), "points": .integer(budget.points.value), "used": .integer(budget.used.value),
                "left": .integer(max(.zero, budget.points - budget.used).value),
            ]
            if budget.scope == .chain, let rights {
                row["rights"] = .array(rights.holdings.sorted { $0.key < $1.key }.map { .object(["node_id": .string($0.key.rawValue), "points": .integer($0.value.value)]) })
            }
            return .object(row)
        }
        return Array(JSONValue.object(["month": .string(month.description), "budgets": .array(rows)]).serialized.utf8)
    }
}

extension Endpoint {
    static let campaigns = Endpoint(
        get: "/v1/campaigns", access: .lookup, operationID: "listCampaigns", summary: "Every campaign and the green categories.",
        answer: ResponseSchemas.campaigns
    ) { api, _, _ throws(APIError) in try api.campaigns() }

    static let rewards = Endpoint(
        get: "/v1/rewards", access: .lookup, operationID: "listRewards", summary: "The rewards catalog.", answer: ResponseSchemas.rewards
    ) { api, _, _ throws(APIError) in try api.rewards() }

    static let budgets = Endpoint(
        get: "/v1/budgets/{month}", access: .headquarters, operationID: "getBudgets",
        summary: "A month's issuance budgets and what each has used, as this node knows.",
        parameters: [.object(["name": .string("month"), "in": .string("path"), "required": .bool(true),
                              "schema": .object(["type": .string("string"), "pattern": .string("^[0-9]{4}-[0-9]{2}$")])])],
        answer: ResponseSchemas.budgets, refusals: [(400, ["invalid_field"])]
    ) { api, _, parameters throws(APIError) in try api.budgets(parameters) }
}
