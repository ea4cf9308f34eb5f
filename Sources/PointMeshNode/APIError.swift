import PointMeshCore
import PointMeshHTTP
import PointMeshStore

/// An error as the API answers it: a status, a stable snake_case code and a message.
struct APIError: Error, Equatable {
    var status: Int
    var code: String
    var message: String

    static func invalidJSON(_ message: String) -> APIError { APIError(status: 400, code: "invalid_json", message: message) }
    static func invalidField(_ field: String, _ why: String) -> APIError {
        APIError(status: 400, code: "invalid_field", message: "\(field): \(why)")
    }
    static func missingField(_ field: String) -> APIError {
        APIError(status: 400, code: "missing_field", message: "\(field): required")
    }

    /// An internal error never shows its internal text: the log has it, under the request id
    /// the client also gets (`withRequestID`).
    static let internalError = APIError(status: 500, code: "internal_error", message: "internal error; nothing was changed")

    /// The message with the request's id, so a client can quote it and an operator find the log line.
    func withRequestID(_ id: String) -> APIError {
        var copy = self
        copy.message += " (request \(id); see the node's log)"
        return copy
    }

    var response: HTTPResponse {
        var response = HTTPResponse.error(status, code: code, message: message)
        if status == 401 { response.headers.append(("WWW-Authenticate", "Bearer realm=\"pointmesh\"")) }
        return response
    }

    /// The one place domain and storage errors become HTTP statuses.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as RequestError:
            switch error {
            case .invalidJSON(let message): self = .invalidJSON(message)
            case .missingField(let field): self = .missingField(field)
            case .invalidField(let field, let why): self = .invalidField(field, why)
            case .unknownField(let field, let expected):
                self.init(status: 400, code: "unknown_field",
                          message: "\(field): not a field of this request (expected: \(expected.joined(separator: ", ")))")
            }
        case let error as LedgerError:
            switch error {
            case .idempotencyConflict(let key):
                self.init(status: 409, code: "idempotency_conflict",
                          message: "\(key.scope) id '\(key.id)' was already used for a different request")
            case .insufficientPoints(let account, let balance, let requested):
                self.init(status: 409, code: "insufficient_points",
                          message: "account \(account) holds \(balance) points, \(requested) requested")
            case .insufficientPointsOffline(let account, let servable, let requested):
                self.init(status: 409, code: "insufficient_points_offline",
                          message: "account \(account): this node can serve \(servable) of the \(requested) points requested now; the nodes holding the rest of its spending rights did not answer in time")
            case .receiptNotFound(let receipt):
                self.init(status: 404, code: "receipt_not_found", message: "no purchase with receipt_id '\(receipt)' on this node")
            case .refundExceedsPurchase(let receipt, let remaining):
                self.init(status: 409, code: "refund_exceeds_purchase",
                          message: "receipt '\(receipt)' has \(remaining) fen left to refund")
            case .noticeTooShort(let version, let shortens, let earliest):
                self.init(status: 409, code: "notice_too_short",
                          message: "effective_at: version '\(version)' shortens validity compared with '\(shortens)', so it needs 30 days' notice: effective_at must be \(RFC3339.format(milliseconds: earliest)) or later")
            case .unknownAccount(let account, let field):
                self.init(status: 404, code: "unknown_account", message: "\(field): no entry on this node concerns account '\(account)'; nothing was written")
            case .tooManyAccounts(let found, let limit):
                self.init(status: 400, code: "too_many_accounts",
                          message: "accounts: the expiry range matches more than \(limit) accounts (\(found) found); list them in parts of at most \(limit) with `accounts` and `part` (pointmesh compensate does this)")
            case .accountFrozen(let account, let since):
                self.init(status: 423, code: "account_frozen",
                          message: "account '\(account)' is frozen\(since.map { " since \(RFC3339.format(milliseconds: $0))" } ?? ""); it keeps earning but can't redeem or transfer until unfrozen")
            case .alreadyFrozen(let account):
                self.init(status: 409, code: "already_frozen", message: "account '\(account)' is frozen already; nothing was written")
            case .notFrozen(let account):
                self.init(status: 409, code: "not_frozen", message: "account '\(account)' is not frozen; nothing was written")
            case .poolCannotBeMember(let account):
                self.init(status: 400, code: "pool_cannot_be_member", message: "account_id: '\(account)' is a family pool; only customers join families")
            case .alreadyInFamily(let account, let family):
                self.init(status: 409, code: "already_in_family", message: "account '\(account)' belongs to family '\(family)'; it must leave it first")
            case .membershipUnchanged:
                self.init(status: 200, code: "unchanged", message: "nothing to change")
            case .unknownFamily(let family):
                self.init(status: 404, code: "unknown_family", message: "no customer ever joined family '\(family)'")
            case .notAMember(let account, let family):
                self.init(status: 404, code: "not_a_member", message: "account '\(account)' is not in family '\(family)'; nothing was written")
            case .notSameFamily(let from, let to, let fromFamily, let toFamily):
                func membership(_ account: AccountID, _ family: FamilyID?) -> String {
                    family.map { "'\(account)' is in family '\($0)'" } ?? "'\(account)' is in no family"
                }
                self.init(status: 403, code: "not_same_family",
                          message: "points move only inside one family: \(membership(from, fromFamily)), \(membership(to, toFamily))")
            case .coolingOff(let account, let family, let until):
                self.init(status: 403, code: "cooling_off",
                          message: "'\(account)' joined family '\(family)' too recently: its transfers stand from \(RFC3339.format(milliseconds: until)) on")
            case .sameAccount(let account):
                self.init(status: 400, code: "same_account", message: "to_account: a transfer from '\(account)' to itself moves nothing")
            case .tooManyLots(let account, let dates, let limit):
                self.init(status: 409, code: "too_many_lots",
                          message: "the points of '\(account)' asked for expire on \(dates) different dates; one transfer carries at most \(limit): send fewer points per transfer")
            case .memberRequired(let pool):
                self.init(status: 400, code: "member_required", message: "member_id: required to redeem from the family pool '\(pool)'")
            case .unknownDefinition(let kind, let id):
                self.init(status: 404, code: "unknown_\(kind)", message: "\(kind)_id: no \(kind) has the id '\(id)'; nothing was written")
            case .definitionWithdrawn(let kind, let id):
                self.init(status: 409, code: "\(kind)_withdrawn", message: "\(kind) '\(id)' was withdrawn; it can't be changed")
            case .unknownNode(let node, let field):
                self.init(status: 404, code: "unknown_node",
                          message: "\(field): '\(node)' is no node this one knows: not in its membership (`pointmesh status` lists it) nor the origin of any entry it holds; a store added moments ago is known once it has gossiped with this one, and a retired one no longer is; nothing was written")
            case .unknownGreenCategory(let category, let field):
                self.init(status: 404, code: "unknown_green_category",
                          message: "\(field): '\(category)' is not a green category on this node; a green campaign earns green points only on green categories: mark it first (PUT /v1/categories/\(category)/green); nothing was written")
            case .backdateReasonRequired(let id, let startsAt):
                self.init(status: 400, code: "backdate_reason_required",
                          message: "backdate_reason: campaign '\(id)' starts at \(RFC3339.format(milliseconds: startsAt)), before now: say why, since receipts already rung up will earn it as late credits counted against issuance budgets")
            case .campaignTermsFixed(let id):
                self.init(status: 409, code: "campaign_terms_fixed",
                          message: "campaign '\(id)' is published: only its name and ends_at may change (receipts already earned under its terms)")
            case .rewardUnavailable(let reward):
                self.init(status: 409, code: "reward_unavailable", message: "reward '\(reward)' can't be redeemed now (outside its window, or withdrawn)")
            case .pointsMismatch(let reward, let cost, let requested):
                self.init(status: 400, code: "invalid_field", message: "points: reward '\(reward)' costs \(cost) points, not \(requested); leave points out to pay its cost")
            case .fieldNotApplicable(let field, let why):
                self.init(status: 400, code: "invalid_field", message: "\(field): \(why); nothing was written")
            case .missingBill(let reward):
                self.init(status: 400, code: "missing_field", message: "bill_amount_fen: required to redeem the bill deduction '\(reward)'")
            case .missingOffer(let reward):
                self.init(status: 400, code: "missing_field", message: "points: required to redeem the bill deduction '\(reward)': the most points to turn into a discount")
            case .insufficientGreenPoints(let account, let green, let requested):
                self.init(status: 409, code: "insufficient_green_points",
                          message: "the reward takes green points only: account \(account) holds \(green) green points, \(requested) requested")
            case .budgetExhausted(let scope, let month, let left, let requested, let held):
                let standing = held ? "this node holds \(left) points of it as rights to issue (the nodes holding the rest did not hand any in time)" : "it has \(left) points left"
                self.init(status: 409, code: "budget_exhausted",
                          message: "the \(scope) issuance budget for \(month): \(standing); this earning needs \(requested); send budget_override with a reason to issue anyway")
            case .nothingOwed:
                self.init(status: 409, code: "nothing_owed", message: "nothing to credit")
            case .noRightsHeld(let account):
                self.init(status: 409, code: "no_rights_held", message: "this node holds none of account \(account)'s spending rights")
            case .hqOnly(let operation, let role):
                self.init(status: 403, code: "hq_only",
                          message: "this node runs with --role \(role.rawValue): \(operation) is written only at HQ's node (--role hq), whatever the token; send it there")
            case .noRightsToIssueHeld(let month):
                self.init(status: 409, code: "no_rights_held", message: "this node holds no rights to issue under the chain budget of \(month) it could hand on")
            case .unreadableEntry:
                self = .internalError
            }
        case StoreError.closed:
            self.init(status: 503, code: "shutting_down", message: "the node is shutting down; retry on another node or later")
        case let error as SQLiteError where error.isFull:
            self.init(status: 503, code: "storage_full",
                      message: "the node's disk is full; nothing was recorded. Retry on another node, or here once space is freed")
        case let error as SQLiteError where error.isStorageUnavailable:
            self.init(status: 503, code: "storage_unavailable",
                      message: "the node can't write to its disk (\(error.primaryName)); nothing was recorded. Retry later or on another node")
        default:
            self = .internalError
        }
    }

    init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}
