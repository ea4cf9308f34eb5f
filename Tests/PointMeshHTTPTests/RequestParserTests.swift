import Foundation
import PointMeshHTTP
import Testing

private func parse(_ text: String, limits: ParserLimits = ParserLimits()) -> RequestParser.Step {
    var parser = RequestParser(limits: limits)
    parser.append(Array(text.utf8))
    return parser.next()
}

private func failure(_ step: RequestParser.Step) -> RequestParseError? {
    if case .failure(let error) = step { return error }
    return nil
}

private func request(_ step: RequestParser.Step) -> HTTPRequest? {
    if case .request(let request) = step { return request }
    return nil
}

private func needsMore(_ step: RequestParser.Step) -> Bool {
    if case .needMoreBytes = step { return true }
    return false
}

@Suite struct WellFormedRequests {
    @Test func parsesMethodPathQueryHeadersAndBody() throws {
        let parsed = try #require(request(parse("POST /v1/purchases?limit=5&before=a%3Ab HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")))
        #expect(parsed.method == "POST")
        #expect(parsed.path == "/v1/purchases")
        #expect(parsed.query == ["limit": "5", "before": "a:b"])
        #expect(parsed.header("host") == "x")
        #expect(parsed.body == Array("body".utf8))
        #expect(parsed.keepAlive)
    }

    @Test func pipelinedRequestsComeOutOneByOne() throws {
        var parser = RequestParser()
        parser.append(Array("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.0\r\n\r\n".utf8))
        #expect(request(parser.next())?.path == "/a")
        let second = try #require(request(parser.next()))
        #expect(second.path == "/b" && second.body == Array("hi".utf8))
        let third = try #require(request(parser.next()))
        #expect(third.path == "/c" && !third.keepAlive)
        #expect(needsMore(parser.next()))
        #expect(!parser.hasPartialRequest)
    }

    /// A client trickling one byte at a time gets nothing until the request is whole, and the
    /// parser never reports a request early (the server's deadline then bounds the wait).
    @Test func byteAtATimeArrivalWaitsUntilComplete() throws {
        let text = Array("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".utf8)
        var parser = RequestParser()
        for byte in text.dropLast() {
            parser.append([byte])
            #expect(needsMore(parser.next()))
            #expect(parser.hasPartialRequest)
        }
        parser.append([text.last!])
        #expect(request(parser.next())?.body == Array("abc".utf8))
    }
}

@Suite struct HostileRequests {
    @Test(arguments: [
        "\u{0}\u{1}\u{2}garbage\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "get / HTTP/1.1\r\n\r\n",
        "GET nopath HTTP/1.1\r\n\r\n",
        "GET / FTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\nInjected: b\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
    ])
    func malformedInputIsRefusedWith400(text: String) {
        #expect(failure(parse(text))?.status == 400, "\(text.debugDescription)")
    }

    @Test func unknownHTTPVersionIs505() {
        #expect(failure(parse("GET / HTTP/2.0\r\n\r\n")) == .unsupportedVersion("HTTP/2.0"))
    }

    @Test func chunkedBodiesAreRefusedWith411() {
        #expect(failure(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")) == .lengthRequired)
        #expect(failure(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")) == .lengthRequired)
    }

    @Test func oversizedBodiesAreRefusedBeforeTheyArrive() {
        #expect(failure(parse("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n")) == .bodyTooLarge(declared: 1_048_577, limit: 1_048_576))
        #expect(failure(parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n"))?.status == 413)
        #expect(needsMore(parse("POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n")))
    }

    @Test func headerFloodIsRefusedWith431() {
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        #expect(failure(parse("GET / HTTP/1.1\r\n\(many)\r\n")) == .tooManyHeaders(limit: 100))
        let huge = "GET / HTTP/1.1\r\nX: \(String(repeating: "a", count: 17_000))\r\n\r\n"
        #expect(failure(parse(huge)) == .headersTooLarge(limit: 16 * 1024))
    }

    /// A head that never ends is refused as soon as it passes the limit, so the parser's
    /// memory stays bounded however long the client keeps sending.
    @Test func endlessHeadIsRefusedOnceOverTheLimit() {
        var parser = RequestParser()
        parser.append(Array("GET / HTTP/1.1\r\n".utf8))
        var refusedAt: Int?
        for round in 0..<100 {
            parser.append(Array("X-Slow: \(String(repeating: "z", count: 500))\r\n".utf8))
            if failure(parser.next()) == .headersTooLarge(limit: 16 * 1024) {
                refusedAt = round
                break
            }
        }
        #expect((refusedAt ?? 100) < 40, "refused at round \(String(describing: refusedAt))")
    }
}

@Suite struct Deadlines {
    @Test func aTricklingRequestExpiresAtTheRequestDeadline() {
        var timeouts = ConnectionTimeouts()
        timeouts.requestMilliseconds = 1_000
        timeouts.idleMilliseconds = 5_000
        var deadline = ReadDeadline(timeouts: timeouts, now: 0)
        deadline.bytesArrived(now: 100)
        // More bytes keep arriving, but the clock started with the first one.
        deadline.bytesArrived(now: 600)
        deadline.bytesArrived(now: 1_050)
        #expect(deadline.expiry(now: 1_099) == nil)
        #expect(deadline.expiry(now: 1_100) == .requestIncomplete)
    }

    /// A connection that never sends a request is closed at the request deadline, not held
    /// for the longer keep-alive idle time.
    @Test func aConnectionThatNeverSendsExpiresAtTheRequestDeadline() {
        var timeouts = ConnectionTimeouts()
        timeouts.requestMilliseconds = 1_000
        timeouts.idleMilliseconds = 30_000
        let deadline = ReadDeadline(timeouts: timeouts, now: 0)
        #expect(deadline.expiry(now: 999) == nil)
        #expect(deadline.expiry(now: 1_000) == .idle)
    }

    @Test func anIdleConnectionExpiresQuietly() {
        var timeouts = ConnectionTimeouts()
        timeouts.idleMilliseconds = 5_000
        var deadline = ReadDeadline(timeouts: timeouts, now: 0)
        deadline.bytesArrived(now: 10)
        deadline.requestAnswered(now: 20, pipelined: false)
        #expect(deadline.expiry(now: 5_019) == nil)
        #expect(deadline.expiry(now: 5_020) == .idle)
    }
}

@Suite struct Routing {
    private func router() -> Router {
        var router = Router()
        router.add("GET", "/v1/accounts/{account_id}") { _, parameters in HTTPResponse(status: 200, body: Array((parameters["account_id"] ?? "").utf8)) }
        router.addAsync("GET", "/v1/accounts/{account_id}/entries") { _, _, respond in respond(HTTPResponse(status: 204)) }
        router.add("GET", "/") { _, _ in HTTPResponse(status: 202) }
        return router
    }

    /// Routes and waits for the answer, which a synchronous route gives from another queue.
    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        let box = ResponseBox()
        router().handle(request) { box.set($0) }
        return box.wait()
    }

    @Test func matchesPatternsAndDecodesParameters() {
        let response = answer(HTTPRequest(method: "GET", target: "/v1/accounts/family%3Ax"))
        #expect(response.status == 200)
        #expect(response.body == Array("family:x".utf8))
        #expect(answer(HTTPRequest(method: "GET", target: "/v1/accounts/a/entries?limit=1")).status == 204)
        #expect(answer(HTTPRequest(method: "GET", target: "/")).status == 202, "the root is a route of its own")
        #expect(answer(HTTPRequest(method: "GET", target: "/?x=1")).status == 202)
        #expect(answer(HTTPRequest(method: "GET", target: "//")).status == 404)
    }

    @Test func unknownPathsAre404AndWrongMethods405() {
        #expect(answer(HTTPRequest(method: "GET", target: "/v1/nothing")).status == 404)
        let wrongMethod = answer(HTTPRequest(method: "DELETE", target: "/v1/accounts/a"))
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers.contains { $0.name == "Allow" && $0.value == "GET" }, "RFC 9110 requires Allow on 405")
        #expect(answer(HTTPRequest(method: "GET", target: "/v1/accounts/a/b/c")).status == 404)
    }
}

/// One response, handed from whichever thread answers to the waiting test.
private final class ResponseBox: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var response: HTTPResponse?
    func set(_ value: HTTPResponse) {
        response = value
        done.signal()
    }
    func wait() -> HTTPResponse {
        done.wait()
        return response ?? HTTPResponse(status: 0)
    }
}

@Suite struct DeferredResponses {
    /// A deferred answer is made on the event loop, not on the thread that delivers it (the
    /// single writer, whose time bounds the write rate), and goes out as made.
    @Test func aDeferredResponseIsMadeOnTheLoopThatWritesIt() throws {
        let server = try HTTPServer(configuration: HTTPServerConfiguration(address: HostPort(host: "127.0.0.1", port: 0)), log: { _ in }) { _, respond in
            Thread {
                let delivering = pthread_self()
                respond(.deferred(status: 201) {
                    let thread = pthread_equal(pthread_self(), delivering) != 0 ? "delivering thread" : "another thread"
                    return .json(201, Array(#"{"made_on":"\#(thread)"}"#.utf8))
                })
                // Whatever this thread does next, the answer is not waiting for it.
                Thread.sleep(forTimeInterval: 5)
            }.start()
        }
        server.start()
        defer { server.stop() }
        let started = Date()
        let response = try HTTPClient(address: server.address).send("POST", "/x", body: Array("{}".utf8))
        #expect(response.status == 201)
        #expect(response.bodyText == #"{"made_on":"another thread"}"#)
        #expect(response.headers.contains { $0.name.lowercased() == "content-type" && $0.value == "application/json" })
        #expect(Date().timeIntervalSince(started) < 4)
    }
}
