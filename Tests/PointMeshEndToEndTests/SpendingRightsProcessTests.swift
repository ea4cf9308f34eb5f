import Foundation
import PointMeshHTTP
import Synchronization
import Testing

private let fastGossip = ["--gossip-interval-ms", "200"]

private func redeem(_ node: NodeProcess, _ id: String, _ account: String, _ points: Int) throws -> HTTPClientResponse {
    try node.client().postJSON("/v1/redemptions", #"{"request_id":"\#(id)","account_id":"\#(account)","points":\#(points)}"#)
}

/// The spending rights each node holds on `account`, as `node`'s account view shows them.
func heldRights(_ node: NodeProcess, _ account: String) throws -> [String: Int] {
    let rights = try node.client().getJSON("/v1/accounts/\(account)")["rights"] as? [[String: Any]] ?? []
    return Dictionary(uniqueKeysWithValues: rights.compactMap { row in (row["node_id"] as? String).map { ($0, row["points"] as? Int ?? 0) } })
}

private func metric(_ node: NodeProcess, _ line: String) throws -> Double? {
    let text = try node.client().send("GET", "/metrics").bodyText
    return text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
}

private func purchase(_ node: NodeProcess, _ receipt: String, points: Int, override: String? = nil) throws -> HTTPClientResponse {
    let extra = override.map { #","budget_override":{"reason":"\#($0)"}"# } ?? ""
    return try node.client().postJSON("/v1/purchases", #"{"receipt_id":"\#(receipt)","account_id":"amy","amount_fen":\#(points * 100)\#(extra)}"#)
}

/// The chain's row of `node`'s budgets this month: used, and the rights to issue by node.
private func chainBudget(_ node: NodeProcess, _ month: String) throws -> (used: Int, rights: [String: Int])? {
    let rows = try node.client().getJSON("/v1/budgets/\(month)")["budgets"] as? [[String: Any]] ?? []
    guard let chain = rows.first(where: { $0["scope"] as? String == "chain" }) else { return nil }
    let rights = chain["rights"] as? [[String: Any]] ?? []
    return (chain["used"] as? Int ?? -1, Dictionary(uniqueKeysWithValues: rights.compactMap { row in (row["node_id"] as? String).map { ($0, row["points"] as? Int ?? 0) } }))
}

private func thisMonth() -> String { String(ISO8601DateFormatter().string(from: Date()).prefix(7)) }

/// Spending rights between real `pointmesh` processes: a store spends only the rights it holds,
/// asks the holders for the rest within the till's one call, and two stores cut apart never
/// both spend the same points.
@Suite(.serialized) struct SpendingRightsProcessTests {
    /// With the cluster whole, a redemption at a node holding none of the account's rights
    /// succeeds in one call: the node asks the holder and waits for its grant.
    @Test func aRedemptionAtANodeHoldingNoRightsIsServedInOneCall() throws {
        let holder = try NodeProcess(extraArguments: ["--node-id", "r1"] + fastGossip)
        let other = try NodeProcess(extraArguments: ["--node-id", "r2", "--seed", holder.gossipAddress.description] + fastGossip)
        defer {
            stopAndVerify([holder, other])
            holder.removeFiles(); other.removeFiles()
        }
        #expect(try holder.client().postJSON("/v1/purchases", #"{"receipt_id":"P1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(eventually(within: 15) { try balance(other, "amy") == 100 })
        let spent = try redeem(other, "Q1", "amy", 60)
        #expect(spent.status == 201, "\(spent.bodyText)")
        #expect(try metric(other, #"pointmesh_rights_waits_total{outcome="served"}"#) ?? 0 >= 1)
        #expect(try metric(holder, "pointmesh_rights_grants_written_total") ?? 0 >= 1)
        // The holder gave its rights away: it asks them back the same way.
        #expect(try redeem(holder, "Q2", "amy", 40).status == 201)
        #expect(eventually(within: 15) { try [holder, other].allSatisfy { try balance($0, "amy") == 0 } })
    }

    /// The chain budget as rights to issue, the cluster whole: a store holding none earns in
    /// one call (it asks HQ for a share and waits), runs out once HQ has handed out everything,
    /// and issues past it only with an override, which the budget shows as rights owed.
    @Test func aStoreIssuesTheChainBudgetByAskingHQForShares() throws {
        let hq = try NodeProcess(extraArguments: ["--node-id", "i1", "--role", "hq"] + fastGossip)
        let store = try NodeProcess(extraArguments: ["--node-id", "i2", "--seed", hq.gossipAddress.description] + fastGossip)
        defer {
            stopAndVerify([hq, store])
            hq.removeFiles(); store.removeFiles()
        }
        let month = thisMonth()
        #expect(try hq.client().send("PUT", "/v1/budgets/\(month)/chain", body: Array(#"{"points":1000}"#.utf8)).status == 200)
        #expect(eventually(within: 15) { try chainBudget(store, month) != nil })
        let first = try purchase(store, "P1", points: 300)
        #expect(first.status == 201, "asked HQ for a share within the call: \(first.bodyText)")
        #expect(eventually(within: 15) { try [hq, store].allSatisfy { try chainBudget($0, month)?.rights == ["i1": 500, "i2": 200] } },
                "an even share of two nodes: \(String(describing: try? chainBudget(hq, month)))")
        #expect(try purchase(store, "P2", points: 600).status == 201, "asked for the rest")
        let past = try purchase(store, "P3", points: 200)
        #expect(past.status == 409 && past.errorCode == "budget_exhausted" && past.bodyText.contains("holds 100 points of it"), "\(past.bodyText)")
        #expect(try purchase(store, "P3", points: 200, override: "grand opening").status == 201)
        #expect(eventually(within: 15) { try [hq, store].allSatisfy { try chainBudget($0, month).map { $0.used == 1_100 && $0.rights == ["i2": -100] } ?? false } })
        #expect(try metric(hq, "pointmesh_rights_grants_written_total") ?? 0 >= 2)
    }

    /// Two stores of a whole cluster spending the same 100 points at the same moment: one is
    /// served, the other refused, and the converged balance is 0, never -100.
    @Test func twoStoresSpendingThePointsAtOnceServeOneOfThem() throws {
        let first = try NodeProcess(extraArguments: ["--node-id", "b1"] + fastGossip)
        let second = try NodeProcess(extraArguments: ["--node-id", "b2", "--seed", first.gossipAddress.description] + fastGossip)
        defer {
            stopAndVerify([first, second])
            first.removeFiles(); second.removeFiles()
        }
        #expect(try first.client().postJSON("/v1/purchases", #"{"receipt_id":"P1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(eventually(within: 15) { try balance(second, "amy") == 100 })
        let statuses = Mutex<[Int]>([]), done = DispatchGroup()
        for (index, address) in [first.httpAddress, second.httpAddress].enumerated() {
            done.enter()
            Thread {
                let status = (try? HTTPClient(address: address, timeoutMilliseconds: 10_000)
                    .postJSON("/v1/redemptions", #"{"request_id":"Q\#(index)","account_id":"amy","points":100}"#))?.status ?? 0
                statuses.withLock { $0.append(status) }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(statuses.withLock { $0.sorted() } == [201, 409], "\(statuses.withLock { $0 })")
        #expect(eventually(within: 15) { try [first, second].allSatisfy { try balance($0, "amy") == 0 } })
    }

    /// A node asking a dead holder for rights opens a session thread for every ask, each of
    /// which fails to connect and ends at once; every redemption is answered and the node keeps
    /// serving. (It once named each thread after starting it, through the pthread handle of a
    /// thread that may have ended already: SIGSEGV in `killingTheHolderMidGrantLosesNoRights`,
    /// twice in full runs. The race needs a full run's load: this test takes the path, but did
    /// not fail in three runs with the naming put back.)
    @Test func aNodeAskingADeadHolderAgainAndAgainKeepsServing() throws {
        let holder = try NodeProcess(extraArguments: ["--node-id", "d1"] + fastGossip)
        let asker = try NodeProcess(extraArguments: ["--node-id", "d2", "--seed", holder.gossipAddress.description, "--rights-wait-ms", "200"] + fastGossip)
        defer {
            stopAndVerify([asker])
            holder.removeFiles(); asker.removeFiles()
        }
        let accounts = (0..<16).map { "d\($0)" }
        for account in accounts {
            #expect(try holder.client().postJSON("/v1/purchases", #"{"receipt_id":"P-\#(account)","account_id":"\#(account)","amount_fen":10000}"#).status == 201)
        }
        #expect(eventually(within: 20) { try accounts.allSatisfy { try balance(asker, $0) == 100 } })
        holder.kill(SIGKILL)
        let statuses = Mutex<[Int]>([]), done = DispatchGroup(), address = asker.httpAddress
        for worker in 0..<8 {
            done.enter()
            Thread {
                let client = HTTPClient(address: address, timeoutMilliseconds: 10_000)
                for round in 0..<12 {
                    let account = accounts[(worker + round) % accounts.count]
                    let status = (try? client.postJSON("/v1/redemptions", #"{"request_id":"W\#(worker)-\#(round)","account_id":"\#(account)","points":10}"#))?.status ?? 0
                    statuses.withLock { $0.append(status) }
                }
                done.leave()
            }.start()
        }
        done.wait()
        let seen = statuses.withLock { $0 }
        #expect(seen.count == 96 && seen.allSatisfy { $0 == 409 }, "every redemption refused for want of rights, none lost: \(Dictionary(grouping: seen) { $0 }.mapValues(\.count))")
        #expect(asker.process.isRunning, "\(asker.diagnosis(lines: 80))")
    }

    /// A holder of a release without the spending-rights exchange can't grant: the redemption
    /// is refused after the wait, and the node does not open session after session with it
    /// for the request it can't carry.
    @Test func aHolderThatDoesNotSpeakTheExchangeIsNotAskedWithoutEnd() throws {
        let old = try NodeProcess(extraArguments: ["--node-id", "o1"] + fastGossip, environment: ["POINTMESH_TEST_EXCHANGES": "-spending-rights"])
        let asker = try NodeProcess(extraArguments: ["--node-id", "o2", "--seed", old.gossipAddress.description] + fastGossip)
        defer {
            stopAndVerify([old, asker])
            old.removeFiles(); asker.removeFiles()
        }
        #expect(try old.client().postJSON("/v1/purchases", #"{"receipt_id":"P1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(eventually(within: 15) { try balance(asker, "amy") == 100 })
        let sessions = try metric(asker, "pointmesh_gossip_sessions_total") ?? 0
        #expect(try redeem(asker, "Q1", "amy", 10).errorCode == "insufficient_points_offline")
        usleep(2_000_000)
        let more = (try metric(asker, "pointmesh_gossip_sessions_total") ?? 0) - sessions
        #expect(more < 40, "\(more) sessions in 2.5 s: about 2 per 200 ms round, and one or two for the request")
    }

    /// kill -9 of the holder while grants are being asked for and written loses no rights:
    /// once it is back, every account's whole balance can still be spent, at either node.
    @Test func killingTheHolderMidGrantLosesNoRights() throws {
        let holder = try NodeProcess(extraArguments: ["--node-id", "k1"] + fastGossip)
        let other = try NodeProcess(extraArguments: ["--node-id", "k2", "--seed", holder.gossipAddress.description] + fastGossip)
        let accounts = (0..<24).map { "c\($0)" }
        for account in accounts {
            #expect(try holder.client().postJSON("/v1/purchases", #"{"receipt_id":"P-\#(account)","account_id":"\#(account)","amount_fen":10000}"#).status == 201)
        }
        #expect(eventually(within: 20) { try accounts.allSatisfy { try balance(other, $0) == 100 } })
        // Redemptions at k2 ask k1 for rights, one account after another, while k1 is killed.
        let asking = other.httpAddress
        let statuses = Mutex<[Int]>([]), firstServed = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread {
            for account in accounts {
                let status = (try? HTTPClient(address: asking, timeoutMilliseconds: 10_000)
                    .postJSON("/v1/redemptions", #"{"request_id":"Q-\#(account)","account_id":"\#(account)","points":10}"#))?.status ?? 0
                if statuses.withLock({ $0.append(status); return $0.count == 1 }) { firstServed.signal() }
            }
            done.signal()
        }.start()
        // Killed while the next accounts' grants are asked for, written and sent.
        firstServed.wait()
        holder.kill(SIGKILL)
        done.wait()
        let seen = statuses.withLock { $0 }
        #expect(seen.first == 201 && seen.contains(409), "some redemptions were served before the kill, some refused after: \(seen)")
        let restarted = try NodeProcess(dataDirectory: holder.dataDirectory,
                                        extraArguments: ["--node-id", "k1", "--seed", other.gossipAddress.description] + fastGossip)
        defer {
            stopAndVerify([restarted, other])
            restarted.removeFiles(); other.removeFiles()
        }
        let nodes = [restarted, other]
        #expect(eventually(within: 30) {
            let digests = try nodes.map { try $0.client().getJSON("/v1/status")["digest"] as? String }
            return digests[0] != nil && digests[0] == digests[1]
        }, "\(nodes.map { $0.diagnosis() }.joined(separator: "\n"))")
        for (index, account) in accounts.enumerated() {
            let left = try #require(try balance(other, account))
            #expect(left == 100 || left == 90, "\(account): \(left)")
            let node = nodes[index % 2]
            let spent = try redeem(node, "all-\(account)", account, left)
            #expect(spent.status == 201, "\(account)'s \(left) points at \(index % 2 == 0 ? "k1" : "k2"): \(spent.bodyText)")
        }
        #expect(eventually(within: 20) { try nodes.allSatisfy { node in try accounts.allSatisfy { try balance(node, $0) == 0 } } })
    }
}

/// Two stores cut apart by a real network: the same points are spent on one side at most.
@Suite(.enabled(if: LinkedNamespaces.available, "needs root and iproute2 to make network namespaces"), .serialized)
struct SpendingRightsPartitionTests {
    @Test func theSamePointsSpentOnBothSidesOfACutSucceedOnOneSideAtMost() throws {
        var pair = try CutApartPair(cutAtOnce: false)
        defer { pair.stop() }
        let (x1, x2) = (pair.x1, pair.x2)
        #expect(try x1.client().postJSON("/v1/purchases", #"{"receipt_id":"P1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(eventually(within: 15) { try balance(x2, "amy") == 100 })
        pair.cut()
        let first = try redeem(x1, "Q1", "amy", 100), second = try redeem(x2, "Q2", "amy", 100)
        #expect([first, second].filter { $0.status == 201 }.count == 1, "\(first.bodyText) / \(second.bodyText)")
        #expect(first.status == 201, "x1 holds amy's rights: \(first.bodyText)")
        #expect(second.status == 409 && second.bodyText.contains("insufficient_points_offline") && second.bodyText.contains("serve 0 of the 100"),
                "\(second.bodyText)")
        #expect(try metric(x2, "pointmesh_rights_refusals_total") == 1)
        try pair.join()
        for node in pair.nodes { #expect(try balance(node, "amy") == 0, "spent once, not twice") }
    }

    /// A transfer and a deduction of the same points on the two sides of a cut: the side holding
    /// the rights transfers them, the other's deduction is refused, and the converged history
    /// moves the points once. (Both nodes run as HQ's, which alone may deduct.)
    @Test func aTransferAndADeductionOfTheSamePointsAcrossACutMoveThemOnce() throws {
        var pair = try CutApartPair(extraArguments: ["--role", "hq", "--transfer-cooling-off-days", "0", "--rights-wait-ms", "200"], cutAtOnce: false)
        defer { pair.stop() }
        let (x1, x2) = (pair.x1, pair.x2)
        #expect(try x1.client().postJSON("/v1/purchases", #"{"receipt_id":"P1","account_id":"amy","amount_fen":10000}"#).status == 201)
        for member in ["amy", "ben"] { #expect(try send(x1, "PUT", "/v1/families/lees/members/\(member)").status == 200) }
        #expect(eventually(within: 15) { try balance(x2, "amy") == 100 && x2.client().getJSON("/v1/families/lees")["members"] as? [String] == ["amy", "ben"] })
        pair.cut()
        let moved = try x1.client().postJSON("/v1/transfers", #"{"request_id":"T1","from_account":"amy","to_account":"ben","points":100}"#)
        #expect(moved.status == 201, "x1 holds amy's rights: \(moved.bodyText)")
        let deducted = try x2.client().postJSON("/v1/deductions", #"{"request_id":"D1","account_id":"amy","points":100,"evidence_ref":"case-9","reason":"abuse","operator":"ops"}"#)
        #expect(deducted.status == 409 && deducted.errorCode == "insufficient_points_offline", "\(deducted.bodyText)")
        try pair.join()
        for node in pair.nodes {
            let amy = try node.client().getJSON("/v1/accounts/amy")
            #expect(amy["balance"] as? Int == 0 && (amy["overdraft"] as? Int ?? 0) == 0 && (amy["debt"] as? Int ?? 0) == 0, "\(amy)")
            #expect(try balance(node, "ben") == 100)
        }
    }

    /// Two nodes cut apart, each with its share of a chain budget of 1,000: together they issue
    /// 1,000 without an override, and no more.
    @Test func cutOffStoresTogetherIssueNoMoreThanTheChainBudget() throws {
        var pair = try CutApartPair(extraArguments: ["--rights-wait-ms", "200"], hqFirst: true, cutAtOnce: false)
        defer { pair.stop() }
        let (x1, x2) = (pair.x1, pair.x2)
        let month = thisMonth()
        #expect(try x1.client().send("PUT", "/v1/budgets/\(month)/chain", body: Array(#"{"points":1000}"#.utf8)).status == 200)
        #expect(eventually(within: 15) { try chainBudget(x2, month) != nil })
        #expect(try purchase(x2, "P1", points: 200).status == 201)
        #expect(eventually(within: 15) { try chainBudget(x1, month)?.rights == ["x1": 500, "x2": 300] })
        pair.cut()
        var issued = 0
        for (index, (node, points)) in [(x1, 400), (x2, 250), (x1, 100), (x2, 50), (x1, 1), (x2, 1)].enumerated() {
            let answer = try purchase(node, "C\(index)", points: points)
            if answer.status == 201 { issued += points } else { #expect(answer.errorCode == "budget_exhausted", "\(answer.bodyText)") }
        }
        #expect(issued == 800, "each side issued exactly its share, the last point refused on both")
        #expect(try purchase(x2, "C9", points: 30, override: "regional promotion").status == 201)
        try pair.join()
        for node in pair.nodes {
            let chain = try #require(try chainBudget(node, month))
            #expect(chain.used == 1_030 && chain.rights == ["x2": -30], "\(chain)")
        }
    }

    /// With an offline allowance of 20, the side without the rights overspends at most 20.
    @Test func withAnAllowanceTheOverdraftIsAtMostItPerSide() throws {
        var pair = try CutApartPair(extraArguments: ["--offline-allowance", "20", "--rights-wait-ms", "200"], cutAtOnce: false)
        defer { pair.stop() }
        let (x1, x2) = (pair.x1, pair.x2)
        #expect(try x1.client().postJSON("/v1/purchases", #"{"receipt_id":"P1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(eventually(within: 15) { try balance(x2, "amy") == 100 })
        pair.cut()
        #expect(try redeem(x1, "Q1", "amy", 100).status == 201)
        let over = try redeem(x2, "Q2", "amy", 15)
        #expect(over.status == 201, "within x2's allowance: \(over.bodyText)")
        #expect(try redeem(x2, "Q3", "amy", 6).errorCode == "insufficient_points_offline", "15 + 6 is past the allowance")
        #expect(try redeem(x2, "Q4", "amy", 5).status == 201)
        #expect(try metric(x2, "pointmesh_rights_overdrafts_total") == 2 && metric(x2, "pointmesh_rights_overdraft_points_total") == 20)
        try pair.join()
        for node in pair.nodes {
            let view = try node.client().getJSON("/v1/accounts/amy")
            #expect(view["balance"] as? Int == -20 && view["overdraft"] as? Int == 20, "\(view)")
        }
        // The next purchase repays the overdraft first.
        #expect(try x2.client().postJSON("/v1/purchases", #"{"receipt_id":"P2","account_id":"amy","amount_fen":3000}"#).status == 201)
        #expect(eventually(within: 15) { try pair.nodes.allSatisfy { try balance($0, "amy") == 10 } })
    }
}
