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

    var response: HTTPResponse { .error(status, code: code, message: message) }

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
            case .receiptNotFound(let receipt):
                self.init(status: 404, code: "receipt_not_found", message: "no purchase with receipt_id '\(receipt)' on this node")
            case .refundExceedsPurchase(let receipt, let remaining):
                self.init(status: 409, code: "refund_exceeds_purchase",
                          message: "receipt '\(receipt)' has \(remaining) fen left to refund")
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
