import PointMeshHTTP
import PointMeshSimulation
import Testing

/// Mutated requests, fed to the parser in two pieces: it answers a request, a failure or "more
/// bytes", and never traps. The short form of `Tests/Fuzz/run http`.
@Suite struct SeededHTTPFuzzTests {
    static let seeds = [
        "POST /v1/purchases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "GET /v1/accounts/alice?limit=5&after=a%20b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        "PUT /v1/policies/expiry HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ].map { Array($0.utf8) }

    @Test func requestParserSurvivesMutatedInput() {
        var random = SplitMix64(seed: 0x1234_5678_9ABC_DEF1)
        for round in 0..<20_000 {
            var bytes = Self.seeds[round % Self.seeds.count]
            for _ in 0...(random.next() % 4) {
                let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
                switch random.next() % 5 {
                case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
                case 1: bytes.insert(Array(": \r\n%0".utf8)[Int(random.next() % 6)], at: position)
                case 2 where !bytes.isEmpty: bytes.remove(at: position)
                case 3: bytes.insert(contentsOf: bytes[position..<min(bytes.count, position + 8)], at: position)
                default: bytes = Array(bytes.prefix(position))
                }
            }
            var parser = RequestParser()
            let split = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            parser.append(Array(bytes[..<split]))
            _ = parser.next()
            parser.append(Array(bytes[split...]))
            for _ in 0..<4 {
                guard case .request = parser.next() else { break }
            }
        }
    }
}
