import Foundation
import Synchronization
import PointMeshCore
import PointMeshHTTP
import Testing

private let day: Int64 = 86_400_000
private let fastGossip = ["--gossip-interval-ms", "200"]

private func account(_ node: NodeProcess, _ id: String) throws -> [String: Any] {
    try node.client().getJSON("/v1/accounts/\(id)")
}

private func digest(_ node: NodeProcess) throws -> String? {
    try node.client().getJSON("/v1/status")["digest"] as? String
}

@Suite(.serialized) struct ExpiryTests {
    /// A short policy, points earned on both nodes, a redemption, then the clock moved past
    /// each lot's expiry: both nodes show the same balance, lots, expired points, reminders and
    /// history at every step.
    @Test func pointsExpireIdenticallyOnTwoNodes() throws {
        let clock = SharedClock()
        let a = try NodeProcess(extraArguments: ["--node-id", "xa", "--role", "hq", "--clock-offset-file", clock.path] + fastGossip)
        let b = try NodeProcess(extraArguments: ["--node-id", "xb", "--clock-offset-file", clock.path, "--seed", a.gossipAddress.description] + fastGossip)
        defer { for node in [a, b] { node.stop(); node.removeFiles() } }
        func synced() -> Bool { eventually(within: 15) { try digest(a) == digest(b) && digest(a) != nil } }

        // A two-day policy shortens validity, so it needs 30 days' notice.
        let soon = RFC3339.format(milliseconds: clock.now + 10 * day)
        let refused = try a.client().send("PUT", "/v1/policies/expiry", body: Array(#"{"version_id":"two-days","rule":"days","days":2,"effective_at":"\#(soon)"}"#.utf8))
        #expect(refused.status == 409 && refused.errorCode == "notice_too_short")
        let effective = clock.now + 31 * day
        let published = try a.client().send("PUT", "/v1/policies/expiry",
                                            body: Array(#"{"version_id":"two-days","rule":"days","days":2,"effective_at":"\#(RFC3339.format(milliseconds: effective))"}"#.utf8))
        #expect(published.status == 201, "\(published.bodyText)")
        clock.set(32 * day)

        // Each lot expires two days after the instant its purchase was written, which lies
        // between the clock read before the request and the one after its answer (read only
        // after, the expected second was off by one whenever a second ended in between).
        let firstWritten = clock.now
        let r1 = try a.client().postJSON("/v1/purchases", #"{"receipt_id":"X1","account_id":"alice","amount_fen":10000}"#)
        #expect(r1.status == 201)
        let firstExpiry = clock.now + 2 * day, firstEarliest = firstWritten + 2 * day
        #expect(synced())
        clock.set(33 * day)
        let secondWritten = clock.now
        #expect(try b.client().postJSON("/v1/purchases", #"{"receipt_id":"X2","account_id":"alice","amount_fen":5000}"#).status == 201)
        let secondExpiry = clock.now + 2 * day, secondEarliest = secondWritten + 2 * day
        #expect(try a.client().postJSON("/v1/redemptions", #"{"request_id":"Q1","account_id":"alice","points":30}"#).status == 201)
        #expect(synced())

        for node in [a, b] {
            let view = try account(node, "alice")
            #expect(view["balance"] as? Int == 120)
            let expiring = view["expiring"] as? [[String: Any]] ?? []
            #expect(expiring.map { $0["points"] as? Int } == [70, 50], "the redemption took the lot that expires first")
            let expiries = expiring.compactMap { ($0["expires_at"] as? String).flatMap(RFC3339.parse) }
            #expect(expiries.count == 2, "\(expiring)")
            if expiries.count == 2 {
                #expect((firstEarliest...firstExpiry).contains(expiries[0]), "\(expiries[0]) not in \(firstEarliest)...\(firstExpiry)")
                #expect((secondEarliest...secondExpiry).contains(expiries[1]), "\(expiries[1]) not in \(secondEarliest)...\(secondExpiry)")
            }
            #expect((view["policy"] as? [String: Any])?["version_id"] as? String == "two-days")
        }
        // A reminder listed on one node and acknowledged there is skipped on the other.
        let listed = try b.client().getJSON("/v1/reminders?within_days=3")["reminders"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["points"] as? Int } == [70, 50])
        let ack = try JSONSerialization.data(withJSONObject: ["request_id": "ack-1", "reminders": [listed[0]]])
        #expect(try b.client().send("POST", "/v1/reminders/acks", body: Array(ack)).status == 201)
        #expect(synced())
        #expect((try a.client().getJSON("/v1/reminders?within_days=3")["reminders"] as? [[String: Any]])?.map { $0["points"] as? Int } == [50])
        // A reminder in a shorter window is a second reminder, listed again.
        #expect((try a.client().getJSON("/v1/reminders?within_days=1")["reminders"] as? [[String: Any]])?.map { $0["points"] as? Int } == [70])

        clock.set(clock.offset + (firstExpiry - clock.now) + 1_000)
        for node in [a, b] {
            let view = try account(node, "alice")
            #expect(view["balance"] as? Int == 50 && view["expired_total"] as? Int == 70, "\(view)")
            let history = try node.client().getJSON("/v1/accounts/alice/entries")["entries"] as? [[String: Any]] ?? []
            #expect(history.first?["kind"] as? String == "expire" && history.first?["balance_delta"] as? Int == -70)
        }
        let overdrawn = try b.client().postJSON("/v1/redemptions", #"{"request_id":"Q2","account_id":"alice","points":60}"#)
        #expect(overdrawn.status == 409 && overdrawn.errorCode == "insufficient_points", "expired points can't be spent")

        clock.set(clock.offset + (secondExpiry - clock.now) + 1_000)
        for node in [a, b] {
            let view = try account(node, "alice")
            #expect(view["balance"] as? Int == 0 && view["expired_total"] as? Int == 120)
        }
        for node in [a, b] { #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0) }
    }

    /// A compensation batch sent in parts by the CLI: progress on standard error, every account
    /// granted once, and a rerun applies nothing twice.
    @Test func aCompensationBatchRunsInPartsAndOnce() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let accounts = (0..<1_500).map { "c\($0)" }
        let created = Atomic<Int>(0), address = node.httpAddress, clients = 16
        let done = DispatchGroup()
        for client in 0..<clients {
            done.enter()
            // Threads, not a dispatch queue: each blocks on its node's fsync, and 16 of them
            // share group commits.
            Thread {
                let http = HTTPClient(address: address, timeoutMilliseconds: 10_000)
                for index in stride(from: client, to: accounts.count, by: clients) {
                    let body = #"{"receipt_id":"P\#(index)","account_id":"\#(accounts[index])","amount_fen":100}"#
                    if (try? http.postJSON("/v1/purchases", body))?.status == 201 { created.add(1, ordering: .relaxed) }
                }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(created.load(ordering: .relaxed) == accounts.count)
        let file = node.dataDirectory + ".accounts"
        try accounts.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let arguments = ["compensate", "--node", "http://\(node.httpAddress)", "--batch", "B-2026-11", "--reason", "points unusable during the outage",
                         "--reference", "INC-42", "--grant-points", "5", "--accounts-file", file]
        let first = try runPointmesh(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("part 8/8: 1500 of 1500 accounts"), "\(first.stderr)")
        #expect(first.stdout.contains("1500 accounts affected, 7500 points granted"))
        let again = try runPointmesh(arguments)
        #expect(again.status == 0 && again.stderr.contains("(already recorded)"))
        #expect(try account(node, "c7")["balance"] as? Int == 6)
        let history = try node.client().getJSON("/v1/accounts/c7/entries")["entries"] as? [[String: Any]] ?? []
        #expect(history.first?["kind"] as? String == "compensation" && history.first?["reference"] as? String == "INC-42")
        #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
    }
}

@Suite struct ReturnWindowTests {
    /// With `--return-window-days 7`, a purchase's points are pending; a refund inside the
    /// window cancels them without debt; after the window the rest is spendable.
    @Test func pointsArePendingThroughTheReturnWindow() throws {
        let clock = SharedClock()
        let node = try NodeProcess(extraArguments: ["--return-window-days", "7", "--clock-offset-file", clock.path])
        defer { node.stop(); node.removeFiles() }
        let earned = try node.client().postJSON("/v1/purchases", #"{"receipt_id":"W1","account_id":"wendy","amount_fen":10000}"#)
        #expect(earned.status == 201 && earned.json["balance"] as? Int == 0 && earned.json["pending_until"] is String, "\(earned.bodyText)")
        var view = try account(node, "wendy")
        #expect(view["balance"] as? Int == 0 && view["pending"] as? Int == 100 && view["pending_until"] as? String == earned.json["pending_until"] as? String)
        let spend = try node.client().postJSON("/v1/redemptions", #"{"request_id":"WQ","account_id":"wendy","points":10}"#)
        #expect(spend.status == 409 && spend.errorCode == "insufficient_points", "pending points can't be spent")
        clock.set(2 * day)
        let refund = try node.client().postJSON("/v1/refunds", #"{"refund_id":"WF","receipt_id":"W1","amount_fen":4000}"#)
        #expect(refund.status == 201 && refund.json["debt_delta"] as? Int == 0 && refund.json["points_reversed"] as? Int == 40, "\(refund.bodyText)")
        view = try account(node, "wendy")
        #expect(view["pending"] as? Int == 60 && view["debt"] as? Int == 0)
        clock.set(7 * day + 1_000)
        view = try account(node, "wendy")
        #expect(view["balance"] as? Int == 60 && view["pending"] as? Int == 0 && view["pending_until"] == nil)
        #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
    }
}
