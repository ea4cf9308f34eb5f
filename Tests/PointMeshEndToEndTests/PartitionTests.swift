import Foundation
import PointMeshHTTP
import Testing

/// The partition `CutApartPair` makes where it can (network namespaces) is real: while the link
/// is cut each store keeps serving its own tills and neither sees the other's writes; once it
/// heals they converge.
@Suite(.enabled(if: LinkedNamespaces.available, "needs root and iproute2 to make network namespaces"), .serialized)
struct PartitionTests {
    @Test func aCutStoreKeepsServingAndSeesNothingOfTheOtherUntilItHeals() throws {
        var pair = try CutApartPair()
        defer { pair.stop() }
        #expect(pair.isPartitioned)
        #expect(try pair.x1.client().postJSON("/v1/purchases", #"{"receipt_id":"A1","account_id":"amy","amount_fen":10000}"#).status == 201)
        #expect(try pair.x2.client().postJSON("/v1/purchases", #"{"receipt_id":"B1","account_id":"ben","amount_fen":5000}"#).status == 201)
        // Many gossip rounds (every 200 ms) while cut: nothing crosses.
        usleep(1_500_000)
        #expect(try pair.x2.client().getJSON("/v1/accounts/amy")["balance"] as? Int == 0)
        #expect(try pair.x1.client().getJSON("/v1/accounts/ben")["balance"] as? Int == 0)
        try pair.join()
        for node in pair.nodes {
            #expect(try node.client().getJSON("/v1/accounts/amy")["balance"] as? Int == 100)
            #expect(try node.client().getJSON("/v1/accounts/ben")["balance"] as? Int == 50)
        }
    }
}
