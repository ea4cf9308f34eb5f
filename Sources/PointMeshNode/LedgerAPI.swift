import Dispatch
import PointMeshCore
import PointMeshHTTP
import PointMeshStore
import Synchronization

/// The HTTP API of the contract: routes, request validation and responses, over the store.
struct LedgerAPI: Sendable {
    let store: LedgerStore
    let role: NodeRole
    let metrics: NodeMetrics
    let log: Logger
    let gossip: GossipService
    /// The node's clock, and the settings the rules read.
    let clock: NodeClock
    let settings: NodeSettings
    let authorizer: Authorizer
    let rights: SpendingRightsWait
    let extraGauges: @Sendable () -> [NodeMetrics.Family]
    let requestIDs = RequestIDs()
    /// For tests only (`POINTMESH_TEST_FORGE_OUT_OF_ROLE`): the node writes what its role may not
    /// originate, as a store whose check was removed would, so tests can see its peers refuse it.
    var forgesOutOfRole = false

    /// Every route the node serves, in the order the router matches them: the kinds' writes,
    /// then the reads and the operations on the node. Adding a route is declaring its
    /// `Endpoint` (beside its handler) and naming it here.
    static let endpoints: [Endpoint] = EntryKinds.routed.map(Endpoint.write) + [
        .account, .history, .family, .campaigns, .rewards, .budgets, .expiryPolicies, .reminders, .lots, .clashes,
        .liabilityReport, .activityReport, .feed, .dashboard, .status, .retirements, .metrics, .description,
    ]

    /// The router of `endpoints`, each behind its access check and timed in the metrics. A
    /// route this node's role does not serve is refused before the token is looked at.
    func router() -> Router {
        var router = Router()
        for endpoint in Self.endpoints {
            let route = "\(endpoint.method) \(endpoint.path)", access = endpoint.access
            guard endpoint.originators.contains(role) || forgesOutOfRole else {
                let refusal = APIError(LedgerError.hqOnly(operation: endpoint.operationID, role: role))
                router.add(endpoint.method, endpoint.path) { [metrics] _, _ in
                    metrics.recordRequest(route: route, status: refusal.status, seconds: 0)
                    return refusal.response
                }
                continue
            }
            switch endpoint.handler {
            case .write(let kind):
                router.addAsync(endpoint.method, endpoint.path) { request, parameters, respond in
                    let started = clock.monotonicNanoseconds()
                    let timed: HTTPServer.Responder = { response in
                        metrics.recordRequest(route: route, status: response.status, seconds: clock.seconds(since: started))
                        respond(response)
                    }
                    switch authorizer.caller(of: request, for: access) {
                    case .success where gossip.isRetired:
                        // Its peers would never take what it wrote from now on.
                        timed(APIError(status: 503, code: "node_retired",
                                       message: "this node has been retired from the cluster; send writes to another node").response)
                    case .success(let caller) where kind.hasOwnHandler: membership(request, parameters, kind: kind, caller: caller, respond: timed)
                    case .success(let caller): write(request, parameters, kind: kind, caller: caller, respond: timed)
                    case .failure(let refusal): timed(refused(refusal))
                    }
                }
            case .read(let handler):
                router.add(endpoint.method, endpoint.path) { request, parameters in
                    let started = clock.monotonicNanoseconds()
                    let response: HTTPResponse
                    switch authorizer.caller(of: request, for: access) {
                    case .success: response = handler(self, request, parameters)
                    case .failure(let refusal): response = refused(refusal)
                    }
                    metrics.recordRequest(route: route, status: response.status, seconds: clock.seconds(since: started))
                    return response
                }
            }
        }
        return router
    }

    /// A refusal for the request's token, counted.
    private func refused(_ refusal: APIError) -> HTTPResponse {
        metrics.recordRefusal(refusal.status == 401 ? .authentication : .authorization)
        return refusal.response
    }

    /// Runs a handler that produces a JSON body, turning any error into the contract's error body.
    func answer(_ body: () throws(APIError) -> [UInt8]) -> HTTPResponse {
        do {
            return .json(200, try body())
        } catch {
            return error.response
        }
    }

    /// A write: validated on the event loop (quick), committed by the group-commit writer, and
    /// answered from the writer's completion, so no thread waits for the fsync.
    private func write(_ request: HTTPRequest, _ parameters: [String: String], kind: any EntryKindRule.Type, caller: String,
                       respond: @escaping HTTPServer.Responder) {
        let context = self.context(caller: caller)
        let prepared: PreparedWrite
        do {
            if let type = request.header("Content-Type"), !type.lowercased().hasPrefix("application/json") {
                throw APIError(status: 415, code: "unsupported_media_type", message: "send Content-Type: application/json, not \(type)")
            }
            prepared = try parse(request, parameters, kind: kind)
        } catch {
            metrics.recordWrite(kind, .refused)
            return respond(APIError(error).response)
        }
        commit(prepared, kind: kind, context: context, request: request, respond: respond)
    }

    /// Commits a validated write and answers it. A debit refused for want of spending rights
    /// here, or an earning for want of rights to issue, is committed once more after asking the
    /// holders and waiting for their grants (`SpendingRightsWait`), within the one call; the
    /// second answer is final.
    private func commit(_ prepared: PreparedWrite, kind: any EntryKindRule.Type, context: RequestContext, request: HTTPRequest,
                        respond: @escaping HTTPServer.Responder, waited: Bool = false) {
        store.write(prepared, context: context) { [self, metrics, gossip, log] result in
            if !waited, case .failure(LedgerError.insufficientPointsOffline(let account, _, let requested)) = result {
                rights.acquire(requested, of: account) { _ in
                    var asked = self.context(caller: context.caller, requestID: context.requestID)
                    asked.holdersAsked = HoldersAsked(overdraftRoom: rights.overdraftRoom())
                    commit(prepared, kind: kind, context: asked, request: request, respond: respond, waited: true)
                }
                return
            }
            if !waited, settings.spendingRights, case .failure(LedgerError.budgetExhausted(.chain, let month, _, let requested, true)) = result {
                rights.acquireToIssue(requested, in: month) { _ in
                    commit(prepared, kind: kind, context: self.context(caller: context.caller, requestID: context.requestID), request: request,
                           respond: respond, waited: true)
                }
                return
            }
            if waited { rights.record(result) }
            switch result {
            case .success(let outcome):
                let created: Bool
                if case .created = outcome { created = true } else { created = false }
                metrics.recordWrite(kind, created ? .created : .replayed)
                if created { gossip.localWrite() }
                // A customer at this till: the rights to their points follow them.
                if created, kind.customerIsHere, settings.spendingRights { rights.askAhead(outcome.entry.customerAccounts) }
                // This node's rights to issue follow what it issues.
                if created, settings.spendingRights, let month = RightsToIssue.monthIssued(by: outcome.entry) { rights.askAheadToIssue(in: month) }
                // The answer is rendered on the event loop: the writer's time bounds the write rate.
                let status = created ? kind.createdStatus : 200
                respond(.deferred(status: status) {
                    guard let body = try? kind.response(outcome.entry, replayed: !created) else {
                        log.error("request \(context.requestID): \(request.method) \(request.path): entry \(outcome.entry.id) does not render",
                                  ["request_id": context.requestID])
                        // The write is on disk: say so, so the client retries with the same id.
                        let error = APIError(status: 500, code: "internal_error",
                                             message: "the write was recorded as entry \(outcome.entry.id) but its answer could not be built; send it again with the same id to get it")
                        return error.withRequestID(context.requestID).response
                    }
                    return .json(status, body)
                })
            case .failure(let error):
                var apiError = APIError(error)
                if apiError.code == "insufficient_points", let note = Self.syncNote(gossip.lastSync(), now: clock.monotonicMilliseconds()) {
                    apiError.message += note
                }
                metrics.recordWrite(kind, .refused)
                if apiError.status >= 500 {
                    log.error("request \(context.requestID): \(request.method) \(request.path) failed: \(error)",
                              ["request_id": context.requestID, "status": String(apiError.status)])
                    apiError = apiError.withRequestID(context.requestID)
                }
                respond(apiError.response)
            }
        }
    }

    /// Validates a write's body and path against its kind; a kind whose key counts versions
    /// (`EntryKindRule.versionLink`) has them counted on this node first.
    func parse(_ request: HTTPRequest, _ parameters: [String: String], kind: any EntryKindRule.Type) throws -> PreparedWrite {
        try PreparedWrite.parse(kind, body: request.body, path: parameters) { link in
            try reading { try $0.linkedEntries(link).count }
        }
    }

    /// Who is asking, of which node, now; and the request's id for logs (a new one unless given).
    func context(caller: String, requestID: String? = nil) -> RequestContext {
        RequestContext(caller: caller, node: store.nodeID, now: clock.now(), requestID: requestID ?? requestIDs.next(), settings: settings)
    }

    /// Peers silent for longer than this make a refusal for lack of points mention it.
    static let staleSyncMilliseconds: Int64 = 60_000

    /// What a clerk should know when a redemption is refused on a node that has not heard
    /// from its peers lately: the customer's points may simply not have arrived yet.
    static func syncNote(_ sync: (peers: Int, lastContact: Int64?), now: Int64) -> String? {
        guard sync.peers > 0 else { return nil }
        guard let last = sync.lastContact else {
            return "; this node has not synced with any peer since it started, so points earned at other stores may not have arrived yet"
        }
        let silent = now - last
        guard silent > staleSyncMilliseconds else { return nil }
        return "; this node last synced with a peer \(DurationText.describe(milliseconds: silent)) ago, so points earned at other stores since then may not have arrived yet"
    }

    func reading<T>(_ body: (LedgerReader) throws -> T) throws(APIError) -> T {
        try fromStore { try store.read(body) }
    }

    /// Runs a store call, turning its failure into a logged error with a request id.
    func fromStore<T>(_ body: () throws -> T) throws(APIError) -> T {
        do {
            return try body()
        } catch {
            let id = requestIDs.next()
            log.error("request \(id): read failed: \(error)", ["request_id": id])
            throw APIError(error).withRequestID(id)
        }
    }
}

/// Ids for requests, unique per node run: a random prefix and a counter.
final class RequestIDs: Sendable {
    private let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private let counter = Atomic<Int>(0)

    func next() -> String { "\(prefix)-\(String(counter.add(1, ordering: .relaxed).newValue, radix: 36))" }
}
