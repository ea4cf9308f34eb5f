import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshHTTP

/// Spending rights on real nodes: how often a redemption is served without waiting on a remote
/// node when customers mostly shop at one store, the latency a grant adds to a redemption, and
/// the gossip bytes rights cost.
enum RightsBench: Command {
    static let name = "rights"
    static let summary = "spending rights: redemptions served without waiting, a grant's added latency, rights gossip bytes"
    static let nodes = Option("nodes", .value("N"), "stores (default 10)")
    static let customers = Option("customers", .value("N"), "customers, each with a home store (default 300)")
    static let visits = Option("visits", .value("N"), "visits per customer, 90% at the home store (default 6)")
    static let grants = Option("grants", .value("N"), "redemptions timed at a node holding none of the rights, and at the holder (default 300)")
    static let options: [Option] = [nodes, customers, visits, grants, Bench.nodeBinary, Bench.directory]
    static let description = """
        N real nodes on loopback. (1) Customers each visit stores, 90% of visits at their home
        store: a purchase, then a redemption of 60 points (more than it earned) at that store; the share of redemptions
        served without waiting for a remote holder (the nodes' pointmesh_rights_waits_total).
        (2) Redemptions at a node holding none of the account's rights (it asks and waits for the
        grant) against redemptions at the holder, over loopback: p50 and p99 of each and what the
        grant adds. (3) Gossip bytes: per redemption that needed a grant, less per redemption at
        the holder; and at idle, per node per second, with 10 and with all the customers' accounts.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let size = Int(try arguments.integer(Self.nodes) ?? 10), customers = Int(try arguments.integer(Self.customers) ?? 300)
        let visits = Int(try arguments.integer(Self.visits) ?? 6), timed = Int(try arguments.integer(Self.grants) ?? 300)
        guard size >= 2, customers >= 1, visits >= 1, timed >= 1 else { throw UsageError(message: "--nodes must be ≥ 2, the others ≥ 1") }
        let scratch = try Bench.scratchDirectory(arguments)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let binary = arguments.value(Bench.nodeBinary)
        var nodes = [try BenchNode(dataDirectory: scratch + "/n0", arguments: ["--node-id", "n0"], binary: binary)]
        defer { nodes.forEach { $0.stop() } }
        for index in 1..<size {
            nodes.append(try BenchNode(dataDirectory: scratch + "/n\(index)", arguments: ["--node-id", "n\(index)", "--seed", nodes[0].gossipAddress.description],
                                       binary: binary))
        }
        usleep(3_000_000)
        print("rights: \(size) nodes on loopback, gossip every 1 s, fanout 2")
        func bytes() -> Int64 { nodes.reduce(0) { $0 + $1.metric("pointmesh_gossip_bytes_sent_total") } }
        let emptyBefore = bytes()
        usleep(10_000_000)
        let idleEmpty = Double(bytes() - emptyBefore) / Double(size) / 10

        // (1) Customers at their home stores.
        var random = SystemRandomNumberGenerator()
        var redemptions = 0, refused = 0
        let wait = "pointmesh_rights_waits_total{outcome=\"served\"}", timedOut = "pointmesh_rights_waits_total{outcome=\"timed_out\"}"
        func waits() -> Int64 { nodes.reduce(0) { $0 + $1.metric(wait) + $1.metric(timedOut) } }
        let waitsBefore = waits()
        // Each round every customer visits a store (90% their home store) and buys (50 points);
        // then, a moment later as at a till, redeems 60 there: more than the visit earned, so at
        // a store other than the last one the rest must have come from there.
        for visit in 0..<visits {
            var stores: [Int] = []
            for customer in 0..<customers {
                let home = customer % size
                let store = Int.random(in: 0..<10, using: &random) < 9 ? home : Int.random(in: 0..<size, using: &random)
                stores.append(store)
                _ = try HTTPClient(address: nodes[store].httpAddress)
                    .send("POST", "/v1/purchases", body: Array(#"{"receipt_id":"V\#(visit)-\#(customer)","account_id":"c\#(customer)","amount_fen":5000}"#.utf8))
            }
            guard visit > 0 else { continue }
            for customer in 0..<customers {
                let redeemed = try HTTPClient(address: nodes[stores[customer]].httpAddress)
                    .send("POST", "/v1/redemptions", body: Array(#"{"request_id":"VQ\#(visit)-\#(customer)","account_id":"c\#(customer)","points":60}"#.utf8))
                redemptions += 1
                if redeemed.status != 201 { refused += 1 }
            }
        }
        let waited = Int(waits() - waitsBefore)
        print(String(format: "  home-store workload: %d customers × %d visits (90%% at home): each round a purchase (50 points) per customer, then a redemption of 60 at that store", customers, visits))
        print(String(format: "  redemptions served without waiting on a remote node: %.2f%% (%d of %d waited; %d refused)  goal ≥ 99%%",
                     100 * Double(redemptions - waited) / Double(redemptions), waited, redemptions, refused))

        // (2) A grant's added latency, and (3) its bytes.
        let (holder, asker) = (nodes[0], nodes[1])
        let holderClient = HTTPClient(address: holder.httpAddress), askerClient = HTTPClient(address: asker.httpAddress)
        for index in 0..<(2 * timed) {
            _ = try holderClient.send("POST", "/v1/purchases", body: Array(#"{"receipt_id":"G\#(index)","account_id":"g\#(index)","amount_fen":10000}"#.utf8))
        }
        usleep(4_000_000)
        func redeem(_ client: HTTPClient, _ account: Int) throws -> Double {
            let started = DispatchTime.now()
            let answer = try client.send("POST", "/v1/redemptions", body: Array(#"{"request_id":"GQ\#(account)","account_id":"g\#(account)","points":10}"#.utf8))
            if answer.status != 201 { print("warning: g\(account): \(answer.status) \(answer.bodyText)") }
            return Bench.seconds(since: started) * 1_000
        }
        var atHolder: [Double] = [], withGrant: [Double] = []
        var bytesAtHolder: Int64 = 0, bytesWithGrant: Int64 = 0
        // Interleaved in blocks, so both see the same background gossip.
        for block in 0..<(timed / 50 + (timed % 50 > 0 ? 1 : 0)) {
            let range = (block * 50)..<min(timed, block * 50 + 50)
            var before = bytes()
            for account in range { atHolder.append(try redeem(holderClient, account)) }
            usleep(1_500_000)
            bytesAtHolder += bytes() - before
            before = bytes()
            for account in range { withGrant.append(try redeem(askerClient, timed + account)) }
            usleep(1_500_000)
            bytesWithGrant += bytes() - before
        }
        func percentile(_ values: [Double], _ p: Double) -> Double { values.sorted()[min(values.count - 1, Int(Double(values.count) * p))] }
        print(String(format: "  redemption at the holder:             p50 %.2f ms  p99 %.2f ms  (%d)", percentile(atHolder, 0.5), percentile(atHolder, 0.99), timed))
        print(String(format: "  redemption at a node holding nothing: p50 %.2f ms  p99 %.2f ms", percentile(withGrant, 0.5), percentile(withGrant, 0.99)))
        print(String(format: "  added by the grant: p50 %.2f ms  p99 %.2f ms  goal p99 < 5 ms",
                     percentile(withGrant, 0.5) - percentile(atHolder, 0.5), percentile(withGrant, 0.99) - percentile(atHolder, 0.99)))
        print(String(format: "  gossip bytes per redemption (all nodes, sent): %.0f with a grant, %.0f at the holder: rights traffic %.0f",
                     Double(bytesWithGrant) / Double(timed), Double(bytesAtHolder) / Double(timed), Double(bytesWithGrant - bytesAtHolder) / Double(timed)))

        // (3) Idle: nothing of the rights grows with the accounts (from protocol 6 an exchange
        // with nothing to ask is left out of the session).
        let idleBefore = bytes()
        usleep(10_000_000)
        print(String(format: "  idle, gossip bytes/s per node sent: %.0f with no account, %.0f with %d accounts (an empty rights exchange is left out)",
                     idleEmpty, Double(bytes() - idleBefore) / Double(size) / 10, customers + 2 * timed))
        return 0
    }
}
