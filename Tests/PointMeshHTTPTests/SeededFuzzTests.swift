import PointMeshHTTP
import PointMeshSimulation
import Testing

/// Mutated requests, fed to the parser in two pieces: it answers a request, a failure or "more
/// bytes", never traps, and answers the same as when the bytes come in one piece. The short
/// form of `Tests/Fuzz/run http`.
@Suite struct SeededHTTPFuzzTests {
    /// A parser step, comparable: a request by what a handler reads of it.
    enum Outcome: Equatable {
        case request(method: String, path: String, query: [String: String], version: String, headers: [String], declaredLength: Int, body: [UInt8])
        case failure(RequestParseError)
        case needMoreBytes

        init(_ step: RequestParser.Step) {
            switch step {
            case .needMoreBytes: self = .needMoreBytes
            case .failure(let error): self = .failure(error)
            case .request(let request):
                self = .request(method: request.method, path: request.path, query: request.query, version: request.version.rawValue,
                                headers: request.headers.map { "\($0.name): \($0.value)" },
                                declaredLength: request.header("content-length").flatMap { Int($0) } ?? 0, body: request.body)
            }
        }
    }

    /// The parser's steps up to the first that is not a request.
    static func drain(_ parser: inout RequestParser) -> [Outcome] {
        var outcomes: [Outcome] = []
        while outcomes.count < 16 {
            outcomes.append(Outcome(parser.next()))
            guard case .request = outcomes.last else { break }
        }
        return outcomes
    }

    static let seeds = [
        "POST /v1/purchases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "GET /v1/accounts/alice?limit=5&after=a%20b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        "PUT /v1/policies/expiry HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ].map { Array($0.utf8) }

    @Test func requestParserSurvivesMutatedInput() {
        var random = SplitMix64(seed: 0x1234_5678_9ABC_DEF1)
        var requests = 0, refused = 0, incomplete = 0
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
            var whole = RequestParser()
            whole.append(bytes)
            let expected = Self.drain(&whole)
            var parser = RequestParser()
            let split = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            parser.append(Array(bytes[..<split]))
            // A failure on the first piece ends the connection; otherwise the rest follows.
            var outcomes = [Outcome(parser.next())].filter { $0 != .needMoreBytes }
            if case .failure = outcomes.last {} else {
                parser.append(Array(bytes[split...]))
                outcomes += Self.drain(&parser)
            }
            #expect(outcomes == expected, "round \(round): \(String(decoding: bytes, as: UTF8.self).debugDescription) split at \(split)")
            for outcome in expected {
                switch outcome {
                case .request(_, _, _, _, _, let declared, let body):
                    requests += 1
                    #expect(body.count == declared, "round \(round): a body of \(body.count) bytes for a Content-Length of \(declared)")
                case .failure: refused += 1
                case .needMoreBytes where expected.count == 1: incomplete += 1
                case .needMoreBytes: break
                }
            }
        }
        // Every kind of answer is reached, so the comparison above ran on each.
        #expect(requests > 1_000 && refused > 1_000 && incomplete > 1_000, "\(requests) requests, \(refused) refused, \(incomplete) incomplete")
    }
}
