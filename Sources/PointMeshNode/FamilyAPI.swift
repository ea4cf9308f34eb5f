import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshStore

/// Families: join and leave (PUT and DELETE on a member, no body) and the family view. A join
/// or leave is read like any write (its key counts the customer's membership entries,
/// `MembershipRequest`) but answers with the family's members, as contract.md says.
extension LedgerAPI {
    /// `PUT` (`FamilyJoin`) or `DELETE` (`FamilyLeave`) of `/v1/families/{family_id}/members/{account_id}`.
    func membership(_ request: HTTPRequest, _ parameters: [String: String], kind: any EntryKindRule.Type, caller: String,
                    respond: @escaping HTTPServer.Responder) {
        let context = self.context(caller: caller)
        let prepared: PreparedWrite, family: FamilyID
        do {
            prepared = try parse(request, parameters, kind: kind)
            family = try Self.family(parameters)
        } catch {
            metrics.recordWrite(kind, .refused)
            return respond(APIError(error).response)
        }
        store.write(prepared, context: context) { [metrics, gossip] result in
            switch result {
            case .success(let outcome):
                switch outcome {
                case .created:
                    metrics.recordWrite(kind, .created)
                    gossip.localWrite()
                default:
                    metrics.recordWrite(kind, .replayed)
                }
            case .failure(LedgerError.membershipUnchanged):
                metrics.recordWrite(kind, .replayed)
            case .failure(let error):
                metrics.recordWrite(kind, .refused)
                return respond(APIError(error).response)
            }
            respond(answerFamily(family))
        }
    }

    /// `GET /v1/families/{family_id}`.
    func family(_ parameters: [String: String]) throws(APIError) -> [UInt8] {
        let family = try Self.family(parameters)
        guard let body = try familyBody(family) else {
            throw APIError(LedgerError.unknownFamily(family))
        }
        return body
    }

    /// The family's members and pool balance, or nil when no customer ever joined it.
    private func familyBody(_ family: FamilyID) throws(APIError) -> [UInt8]? {
        let now = clock.now()
        let (members, pool) = try reading { database in
            (try FamilyMembership.memberStates(of: family, from: database), try database.accountFacts(of: family.pool, at: now).summary.spendable)
        }
        guard let members else { return nil }
        return Array(JSONValue.object([
            "family_id": .string(family.rawValue), "members": .array(members.map { .string($0.account.rawValue) }),
            "auto_pooling": .array(members.filter(\.autoPool).map { .string($0.account.rawValue) }),
            "pool_account": .string(family.pool.rawValue), "pool_balance": .integer(pool.value),
        ]).serialized.utf8)
    }

    private func answerFamily(_ family: FamilyID) -> HTTPResponse {
        do {
            guard let body = try familyBody(family) else { return APIError(LedgerError.unknownFamily(family)).response }
            return .json(200, body)
        } catch {
            return error.response
        }
    }

    private static func family(_ parameters: [String: String]) throws(APIError) -> FamilyID {
        let family: FamilyID = try IdentifierRules.pathParameter(parameters["family_id"], name: "family_id")
        do {
            try FamilyID.checkPoolFits(family)
        } catch {
            throw APIError(error)
        }
        return family
    }

}

extension Endpoint {
    static let family = Endpoint(
        get: "/v1/families/{family_id}", access: .lookup, operationID: "getFamily", summary: "A family's members now and its pool's balance.",
        parameters: [APIDescription.familyParameter], answer: ResponseSchemas.family, refusals: [(400, ["invalid_field"]), (404, ["unknown_family"])]
    ) { api, _, parameters throws(APIError) in try api.family(parameters) }
}
