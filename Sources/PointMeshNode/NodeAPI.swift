import PointMeshCore
import PointMeshHTTP
import PointMeshJSON
import PointMeshReplication
import PointMeshStore
import PointMeshTLS
import Synchronization

/// The node itself: its status, its metrics, this API's description, and retiring a peer.
extension LedgerAPI {
    /// `GET /v1/status`.
    func status() throws(APIError) -> [UInt8] {
        let vector = store.versionVector
        let digest = try fromStore { try store.ledgerDigest() }
        let (peers, seeds, retired) = gossip.peerStatus()
        let health = store.health
        return ResponseBodies.encode(ResponseBodies.Status(
            node_id: store.nodeID.rawValue, role: role.rawValue, version: PointMeshVersion.current, entries: vector.entryCount, digest: digest,
            version_vector: Dictionary(uniqueKeysWithValues: vector.sequences.map { ($0.key.rawValue, $0.value) }),
            peers: peers, seeds: seeds, retired: retired, healthy: health.failure == nil, storage_error: health.failure,
            storage_failing_since: health.failingSinceMilliseconds.map(RFC3339.format(milliseconds:)),
            gossip_refusals: gossip.refusals.load(ordering: .relaxed),
            certificate_not_after: gossip.certificate.map { RFC3339.format(milliseconds: $0.notAfter * 1_000) },
            certificate_days_left: gossip.certificate.map { ($0.notAfter * 1_000 - clock.now()) / CivilCalendar.millisecondsPerDay },
            stable_horizon: gossip.stableHorizon.map(RFC3339.format(milliseconds:)),
            stable_horizon_waits_for: gossip.horizonWaitsFor.map(\.rawValue)))
    }

    /// The body of `POST /v1/cluster/retirements`.
    enum RetirementFields {
        static let node = FieldSpec("node_id", .id, "The node to retire.")
        static let force = FieldSpec.optional("force", .boolean, "Retire an id this node has never heard of (otherwise 404 `unknown_node`).")
        static let all = [node, force]
    }

    /// Retires a node from the cluster: it leaves every peer list and is refused if it returns.
    func retire(_ request: HTTPRequest) throws(APIError) -> [UInt8] {
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
        if !force, let peer = gossip.alivePeer(node) {
            let seen = peer.lastContact.map { "exchanged gossip with this node \(max(0, clock.monotonicMilliseconds() - $0) / 1_000) s ago" }
                ?? "is alive in the member lists this node has heard (it has not exchanged gossip with this node yet)"
            throw APIError(status: 409, code: "node_alive",
                           message: "node \(node) \(seen): it is alive and taking writes; stop it first, then retire it, or send \"force\": true (it then refuses writes once it hears, and hands over what it holds)")
        }
        gossip.retire(node)
        return ResponseBodies.encode(["retired": node.rawValue])
    }

    /// `GET /metrics`: the Prometheus text exposition.
    func metricsText() -> String {
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
            Family("pointmesh_gossip_seal_refusals_total", "Runs of received entries refused because their origin's seal did not verify (altered or forged in relay).",
                   "counter", value: Int64(gossip.sealRefusals.load(ordering: .relaxed))),
            Family("pointmesh_gossip_report_refusals_total",
                   "Holdings reports refused because their origin's seal did not verify (forged or altered in relay) or was missing where seals are required.",
                   "counter", value: Int64(gossip.reportRefusals.load(ordering: .relaxed))),
        ]
        if let horizon = gossip.stableHorizon {
            families.append(Family("pointmesh_stable_horizon_age_seconds",
                                   "Seconds since the chain's stable horizon (absent while unknown): it grows while a member is down and not retired, or hasn't reported what it holds.",
                                   "gauge", value: max(0, clock.now() - horizon) / 1_000))
        }
        if let certified = gossip.certificate {
            families.append(Family("pointmesh_tls_certificate_expiry_seconds",
                                   "Seconds until the node's certificate (--tls-cert) ends; renew and SIGHUP below 30 days (2592000).", "gauge",
                                   value: certified.notAfter - clock.now() / 1_000))
        }
        families += [
            Family("pointmesh_rights_requested_total", "Accounts (spending rights) and months (rights to issue) this node asked a holder for (once per holder until it answers).",
                   "counter", value: Int64(gossip.rightsRequested.load(ordering: .relaxed))),
            Family("pointmesh_rights_asked_ahead_total", "Accounts used here (a look-up, a purchase) whose rights other nodes held, and months this node ran low on rights to issue in, asked for ahead of need.",
                   "counter", value: Int64(rights.askedAhead.load(ordering: .relaxed))),
            Family("pointmesh_rights_grants_written_total", "Rights grants this node wrote for nodes that asked.", "counter",
                   value: Int64(gossip.rightsGranted.load(ordering: .relaxed))),
            Family("pointmesh_rights_grants_received_total", "Rights grants received in the spending-rights exchange and stored.", "counter",
                   value: Int64(gossip.rightsReceived.load(ordering: .relaxed))),
            Family("pointmesh_rights_waits_total", "Debits that found too few spending rights here, and earnings too few rights to issue, and waited for the holders, by outcome.", "counter",
                   [("outcome=\"served\"", String(rights.waitsServed.load(ordering: .relaxed))),
                    ("outcome=\"timed_out\"", String(rights.waitsTimedOut.load(ordering: .relaxed)))]),
            Family("pointmesh_rights_refusals_total", "Debits refused after the wait for want of rights (409 insufficient_points_offline).", "counter",
                   value: Int64(rights.refusals.load(ordering: .relaxed))),
            Family("pointmesh_rights_overdrafts_total", "Redemptions that overspent the rights held here under the offline allowance.", "counter",
                   value: Int64(rights.overdrafts.load(ordering: .relaxed))),
            Family("pointmesh_rights_overdraft_points_total", "Points those redemptions overspent.", "counter",
                   value: Int64(rights.overdraftPoints.load(ordering: .relaxed))),
            Family("pointmesh_rights_wait_seconds_total", "Time debits spent waiting for rights, summed.", "counter",
                   [("", String(Double(rights.waitedNanoseconds.load(ordering: .relaxed)) / 1e9))]),
        ]
        let connections = gossip.openConnections
        families.append(Family("pointmesh_gossip_connections", "Gossip connections open now, by direction (outgoing ones kept between sessions included).", "gauge",
                               [("direction=\"in\"", String(connections.incoming)), ("direction=\"out\"", String(connections.outgoing))]))
        families.append(Family("pointmesh_gossip_connections_opened_total", "Outgoing gossip connections opened (a TCP connect and a TLS handshake each).",
                               "counter", value: Int64(gossip.connectionsOpened.load(ordering: .relaxed))))
        let exchanges = gossip.exchanges.withLock { $0 }
        families.append(Family("pointmesh_gossip_exchanges_total", "Exchanges of gossip sessions run to their end, by exchange.", "counter",
                               exchanges.completed.sorted { $0.key < $1.key }.map { ("exchange=\"\($0.key)\"", String($0.value)) }))
        families.append(Family("pointmesh_gossip_exchanges_skipped_total",
                               "Exchanges one side of a session offered that the other does not speak, by exchange.", "counter",
                               exchanges.skipped.sorted { $0.key < $1.key }.map { ("exchange=\"\($0.key)\"", String($0.value)) }))
        let (peers, _, _) = gossip.peerStatus()
        let now = clock.now()
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
}

extension Endpoint {
    static let status = Endpoint(
        get: "/v1/status", access: .open, operationID: "getStatus", summary: "The node: id, role, release, entries, digest, health, peers.",
        answer: ResponseSchemas.status
    ) { api, _, _ throws(APIError) in try api.status() }

    static let retirements = Endpoint(
        "POST", "/v1/cluster/retirements", access: .administration, originators: NodeRole.headquartersOnly, operationID: "retireNode",
        summary: "Retire a node from the cluster: it leaves every peer list (as gossip spreads this) and is refused if it comes back under the same id. Its entries stay.",
        body: LedgerAPI.RetirementFields.all, answer: .outcomes([("200", "The node is retired.", ResponseSchemas.retirement)]),
        refusals: [(400, APIDescription.badRequest), (404, ["unknown_node"]), (409, ["cannot_retire_self"])] + APIDescription.transport,
        handler: .read { api, request, _ in api.answer { () throws(APIError) in try api.retire(request) } })

    static let metrics = Endpoint(
        "GET", "/metrics", access: .open, operationID: "getMetrics", summary: "Prometheus text exposition format.",
        answer: .document(mediaType: "text/plain", description: "Metrics.", schema: .object(["type": .string("string")])),
        handler: .read { api, _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(api.metricsText().utf8))
        })

    static let description = Endpoint(
        "GET", "/openapi.json", access: .open, operationID: "getOpenAPI", summary: "This document.",
        answer: .document(mediaType: "application/json", description: "The OpenAPI description.", schema: .object(["type": .string("object")])),
        handler: .read { _, _, _ in .json(200, Array(APIDescription.json.utf8)) })
}
