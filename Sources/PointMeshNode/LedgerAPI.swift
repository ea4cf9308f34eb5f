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
    /// The ledger's clock, and the node's settings the rules read.
    let clock: NodeClock
    let settings: NodeSettings
    let authorizer: Authorizer
    let extraGauges: @Sendable () -> [NodeMetrics.Family]
    let requestIDs = RequestIDs()

    /// Largest page of history one request returns.
    static let maximumPageSize = 500
    static let defaultPageSize = 50

    func router() -> Router {
        var router = Router()
        for kind in EntryKinds.routed {
            let route = "\(kind.method) \(kind.route)"
            router.addAsync(kind.method, kind.route) { request, parameters, respond in
                let started = DispatchTime.now().uptimeNanoseconds
                let timed: HTTPServer.Responder = { response in
                    metrics.recordRequest(route: route, status: response.status, seconds: Self.seconds(since: started))
                    respond(response)
                }
                switch authorizer.caller(of: request, for: kind.access) {
                case .success where gossip.isRetired:
                    // Its peers would never take what it wrote from now on.
                    timed(APIError(status: 503, code: "node_retired",
                                   message: "this node has been retired from the cluster; send writes to another node").response)
                case .success(let caller) where kind.hasOwnHandler: membership(request, parameters, kind: kind, caller: caller, respond: timed)
                case .success(let caller): write(request, parameters, kind: kind, caller: caller, respond: timed)
                case .failure(let refusal): timed(refused(refusal))
                }
            }
        }
        func read(_ method: String, _ path: String, _ handler: @escaping @Sendable (HTTPRequest, [String: String]) -> HTTPResponse) {
            let access = APIAccess.of(method: method, path: path), route = "\(method) \(path)"
            router.add(method, path) { request, parameters in
                let started = DispatchTime.now().uptimeNanoseconds
                let response: HTTPResponse
                switch authorizer.caller(of: request, for: access) {
                case .success: response = handler(request, parameters)
                case .failure(let refusal): response = refused(refusal)
                }
                metrics.recordRequest(route: route, status: response.status, seconds: Self.seconds(since: started))
                return response
            }
        }
        read("GET", "/v1/accounts/{account_id}") { _, parameters in
            answer { () throws(APIError) in try account(parameters) }
        }
        read("GET", "/v1/accounts/{account_id}/entries") { request, parameters in
            answer { () throws(APIError) in try entries(request, parameters) }
        }
        read("GET", "/v1/families/{family_id}") { _, parameters in
            answer { () throws(APIError) in try family(parameters) }
        }
        read("GET", "/v1/campaigns") { _, _ in
            answer { () throws(APIError) in try campaigns() }
        }
        read("GET", "/v1/rewards") { _, _ in
            answer { () throws(APIError) in try rewards() }
        }
        read("GET", "/v1/budgets/{month}") { _, parameters in
            answer { () throws(APIError) in try budgets(parameters) }
        }
        read("GET", "/v1/policies/expiry") { _, _ in
            answer { () throws(APIError) in try expiryPolicies() }
        }
        read("GET", "/v1/reminders") { request, _ in
            reminders(request)
        }
        read("GET", "/v1/lots") { request, _ in
            lots(request)
        }
        read("GET", "/v1/clashes") { request, _ in
            answer { () throws(APIError) in try clashes(request) }
        }
        read("GET", "/v1/status") { _, _ in
            answer { () throws(APIError) in try status() }
        }
        read("POST", "/v1/cluster/retirements") { request, _ in
            answer { () throws(APIError) in try retire(request) }
        }
        read("GET", "/metrics") { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(metricsText().utf8))
        }
        read("GET", "/openapi.json") { _, _ in
            .json(200, Array(APIDescription.json.utf8))
        }
        return router
    }

    /// A refusal for the request's token, counted.
    private func refused(_ refusal: APIError) -> HTTPResponse {
        metrics.recordRefusal(refusal.status == 401 ? .authentication : .authorization)
        return refusal.response
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Runs a handler that produces a JSON body, turning any error into the contract's error body.
    private func answer(_ body: () throws(APIError) -> [UInt8]) -> HTTPResponse {
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
        store.write(prepared, context: context) { [metrics, gossip, log] result in
            switch result {
            case .success(let outcome):
                let created: Bool
                if case .created = outcome { created = true } else { created = false }
                metrics.recordWrite(kind, created ? .created : .replayed)
                if created { gossip.localWrite() }
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
                if apiError.code == "insufficient_points", let note = Self.syncNote(gossip.lastSync(), now: NodeClock().now()) {
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

    /// Who is asking, of which node, now; and the request's id for logs.
    func context(caller: String) -> RequestContext {
        RequestContext(caller: caller, node: store.nodeID, now: clock.now(), requestID: requestIDs.next(), settings: settings)
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

    private func entries(_ request: HTTPRequest, _ parameters: [String: String]) throws(APIError) -> [UInt8] {
        let account: AccountID = try IdentifierRules.pathParameter(parameters["account_id"], name: "account_id")
        var limit = Self.defaultPageSize
        if let text = request.query["limit"] {
            guard let value = Int(text), (1...Self.maximumPageSize).contains(value) else {
                throw .invalidField("limit", "must be an integer from 1 to \(Self.maximumPageSize)")
            }
            limit = value
        }
        var cursor: EntryCursor?
        if let token = request.query["before"], !token.isEmpty {
            guard let parsed = EntryCursor(token: token) else { throw .invalidField("before", "not a cursor this API returned") }
            cursor = parsed
        }
        let now = clock.now()
        // Expiry is not an entry (it follows from the entries and the time): each lot that
        // expired with points left shows as a line at its expiry instant, among the entries of
        // the page whose time span holds that instant.
        let (page, expiries, voids) = try reading { database in
            let page = try database.entries(of: account, before: cursor, limit: limit + 1)
            let newest = cursor?.timestamp.wallMilliseconds ?? .max
            let oldest = page.count > limit ? page[limit - 1].entry.timestamp.wallMilliseconds + 1 : .min
            let voids = Set(try page.filter { try !EntryCondition.stands($0.entry, in: database) }.map(\.entry.id))
            return (page, try database.expiredLots(of: account, at: now, within: oldest...newest), voids)
        }
        let shown = Array(page.prefix(limit))
        var lines = shown.map {
            (time: $0.entry.timestamp.wallMilliseconds,
             line: ResponseBodies.entry($0.entry, duplicate: $0.duplicate, void: voids.contains($0.entry.id), for: account))
        }
        lines += expiries.map { (time: $0.expiresAt, line: ResponseBodies.expiry($0, for: account)) }
        lines.sort { $0.time > $1.time }
        var body: [String: JSONValue] = [
            "account_id": .string(account.rawValue),
            "entries": .array(lines.map(\.line)),
        ]
        if page.count > limit, let last = shown.last { body["next_cursor"] = .string(EntryCursor(after: last.entry).token) }
        return Array(JSONValue.object(body).serialized.utf8)
    }

    private func status() throws(APIError) -> [UInt8] {
        let vector = store.versionVector
        let digest = try fromStore { try store.ledgerDigest() }
        let (peers, seeds, retired) = gossip.peerStatus()
        let health = store.health
        return ResponseBodies.encode(ResponseBodies.Status(
            node_id: store.nodeID.rawValue, role: role.rawValue, version: PointMeshVersion.current, entries: vector.entryCount, digest: digest,
            version_vector: Dictionary(uniqueKeysWithValues: vector.sequences.map { ($0.key.rawValue, $0.value) }),
            peers: peers, seeds: seeds, retired: retired, healthy: health.failure == nil, storage_error: health.failure,
            storage_failing_since: health.failingSinceMilliseconds.map(RFC3339.format(milliseconds:)),
            gossip_refusals: gossip.refusals.load(ordering: .relaxed)))
    }

    /// The body of `POST /v1/cluster/retirements`.
    enum RetirementFields {
        static let node = FieldSpec("node_id", .id, "The node to retire.")
        static let force = FieldSpec.optional("force", .boolean, "Retire an id this node has never heard of (otherwise 404 `unknown_node`).")
        static let all = [node, force]
    }

    /// Retires a node from the cluster: it leaves every peer list and is refused if it returns.
    private func retire(_ request: HTTPRequest) throws(APIError) -> [UInt8] {
        let node: NodeID, force: Bool
        do {
            let body = try JSONValue.object(from: request.body)
            try body.requireOnly(RetirementFields.all)
            node = try body.identifier(RetirementFields.node)
            force = try body.flag(RetirementFields.force)
        } catch {
            throw APIError(error)
        }
        guard node != store.nodeID else {
            // A retired node stops gossiping at once, so its own retirement would never spread.
            throw APIError(status: 409, code: "cannot_retire_self",
                           message: "node \(node) can't retire itself; stop it and ask another node to retire it")
        }
        // A typo would otherwise retire nothing while the failed store stays in every peer list.
        guard force || gossip.knows(node) else {
            throw APIError(status: 404, code: "unknown_node",
                           message: "this node has never heard of node \(node); check the id against GET /v1/status, or send \"force\": true to retire it anyway")
        }
        // A node still taking writes would acknowledge some that its peers then refuse to hear.
        if !force, let contact = gossip.aliveContact(of: node) {
            throw APIError(status: 409, code: "node_alive",
                           message: "node \(node) exchanged gossip with this node \(max(0, NodeClock().now() - contact) / 1_000) s ago: it is alive and taking writes; stop it first, then retire it, or send \"force\": true (it then refuses writes once it hears, and hands over what it holds)")
        }
        gossip.retire(node)
        return ResponseBodies.encode(["retired": node.rawValue])
    }

    private func metricsText() -> String {
        let entries = store.versionVector.entryCount
        let commits = store.commitStatistics
        let health = store.health
        typealias Family = NodeMetrics.Family
        var families: [Family] = [
            Family("pointmesh_ledger_entries", "Entries in this node's ledger.", "gauge", value: entries),
            Family("pointmesh_entries_committed_total", "Entries committed since the node started, written here or received, by kind.", "counter",
                   store.entriesCommittedByCode.sorted { $0.key < $1.key }.map { ("kind=\"\(EntryKinds.name(of: EntryCode($0.key)))\"", String($0.value)) }),
            Family("pointmesh_write_queue_depth", "Writes and replicated batches waiting for the writer.", "gauge", value: Int64(store.writeQueueDepth)),
            Family("pointmesh_commit_batches_total",
                   "Group commits: transactions the writer committed, each holding one or more writes and replicated batches, one fsync each.",
                   "counter", value: Int64(commits.batches)),
            Family("pointmesh_committed_writes_total", "Writes committed in those transactions.", "counter", value: Int64(commits.writes)),
            Family("pointmesh_storage_failed_commits_total", "Commits that failed for a storage reason (disk full, I/O error, locked).",
                   "counter", value: Int64(health.failedCommits)),
            Family("pointmesh_storage_healthy", "1 while commits reach the disk, 0 while they fail.", "gauge", value: health.failure == nil ? 1 : 0),
            Family("pointmesh_wal_bytes", "Size of the SQLite write-ahead log file.", "gauge", value: store.walBytes),
            Family("pointmesh_wal_restarts_total", "Times the writer made the WAL start over (it had reached 16 MiB).", "counter",
                   value: Int64(store.walRestarts)),
            Family("pointmesh_wal_checkpoint_failures_total", "Background WAL checkpoints that failed (each is retried).", "counter",
                   value: Int64(store.checkpointFailures)),
            Family("pointmesh_gossip_sessions_total", "Gossip sessions completed.", "counter", value: Int64(gossip.sessionsCompleted.load(ordering: .relaxed))),
            Family("pointmesh_gossip_entries_received_total", "Entries received from peers and newly stored.", "counter",
                   value: Int64(gossip.entriesReceived.load(ordering: .relaxed))),
            Family("pointmesh_gossip_bytes_sent_total", "Bytes sent on gossip connections.", "counter", value: Int64(gossip.bytesSent.load(ordering: .relaxed))),
            Family("pointmesh_gossip_bytes_received_total", "Bytes received on gossip connections.", "counter",
                   value: Int64(gossip.bytesReceived.load(ordering: .relaxed))),
            Family("pointmesh_idempotency_clashes",
                   "Ids under which different requests were acknowledged at nodes that had not seen each other (GET /v1/clashes lists them).",
                   "gauge", value: Int64((try? store.read { try $0.clashCount() }) ?? 0)),
            Family("pointmesh_gossip_refusals_total", "Gossip connections refused or failed authentication (wrong cluster key, retired peer, forged frame).",
                   "counter", value: Int64(gossip.refusals.load(ordering: .relaxed))),
        ]
        let (peers, _, _) = gossip.peerStatus()
        let now = NodeClock().now()
        families.append(Family("pointmesh_peers", "Known peers by state.", "gauge", ["alive", "suspect", "down"].map { state in
            ("state=\"\(state)\"", String(peers.filter { $0.state == state }.count))
        }))
        families.append(Family("pointmesh_peer_lag_entries", "Entries this node held that the peer lacked at the last exchange.", "gauge",
                               peers.compactMap { peer in peer.lag_entries.map { ("peer=\"\(peer.node_id)\"", String($0)) } }))
        families.append(Family("pointmesh_peer_seconds_since_contact", "Seconds since the last successful exchange with the peer.", "gauge",
                               peers.compactMap { peer in
                                   peer.last_contact.flatMap(RFC3339.parse).map { ("peer=\"\(peer.node_id)\"", String(Double(max(0, now - $0)) / 1000)) }
                               }))
        let (batchSizes, commitSeconds) = store.commitHistograms
        return metrics.exposition(families: families + extraGauges(), histograms: [
            ("pointmesh_commit_batch_size", "Jobs (writes and replicated batches) per group commit.", batchSizes),
            ("pointmesh_commit_duration_seconds", "Time per group commit, from BEGIN to the end of COMMIT's fsync.", commitSeconds),
        ])
    }

    func reading<T>(_ body: (LedgerDatabase) throws -> T) throws(APIError) -> T {
        try fromStore { try store.read(body) }
    }

    /// Runs a store call, turning its failure into a logged error with a request id.
    private func fromStore<T>(_ body: () throws -> T) throws(APIError) -> T {
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
