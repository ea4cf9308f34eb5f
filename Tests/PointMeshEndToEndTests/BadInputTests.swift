import Foundation
import PointMeshHTTP
import PointMeshNode
import Testing

/// A real node takes a battery of bad requests: each gets a 4xx with the contract's error
/// body, nothing is written, and the node keeps serving.
@Suite struct BadInputTests {
    static let longID = String(repeating: "a", count: 129)

    static let badPurchases: [(String, String)] = [
        ("{", "invalid_json"),
        ("not json at all", "invalid_json"),
        ("[]", "invalid_json"),
        ("\"string\"", "invalid_json"),
        ("null", "invalid_json"),
        ("{}", "missing_field"),
        (#"{"receipt_id":"R","account_id":"a"}"#, "missing_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":"100"}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":true}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":[1]}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":12.5}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":0}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":-100}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":9223372036854775807}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":9223372036854775808}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":1e40}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":-9223372036854775809}"#, "invalid_field"),
        (#"{"receipt_id":"","account_id":"a","amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":"\#(longID)","account_id":"a","amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a b","amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a/../b","amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"\u00e9","amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":42,"account_id":"a","amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":{"x":1},"amount_fen":100}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100,"items":"x"}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100,"items":[1]}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100,"items":[{"sku":"s","category":"c","amount_fen":-1}]}"#, "invalid_field"),
        // Integers are written in digits: an exponent or fraction form is refused, even when whole.
        (#"{"receipt_id":"R","account_id":"a","amount_fen":1e3}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100.0}"#, "invalid_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":1E+2}"#, "invalid_field"),
        // A misspelt field is refused, not dropped.
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100,"itemz":[{"sku":"s","category":"c","amount_fen":100}]}"#, "unknown_field"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100,"items":[{"sku":"s","categroy":"c","amount_fen":100}]}"#, "unknown_field"),
    ]

    /// The JSON parser's strictness (docs/design.md): each refused with a 400 naming the problem.
    static let malformedJSON: [(String, String)] = [
        (#"{"receipt_id":"R","receipt_id":"S","account_id":"a","amount_fen":100}"#, "duplicate key"),
        (#"{"receipt_id":"R\ud800","account_id":"a","amount_fen":100}"#, "unpaired surrogate"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":0100}"#, "leading zero"),
        (#"{"receipt_id":"R","account_id":"a","amount_fen":100} x"#, "unexpected data after"),
        (String(repeating: "[", count: 70) + String(repeating: "]", count: 70), "nesting deeper than"),
    ]

    /// Bad expiry policies, compensations, reminder queries and acknowledgements: each a 4xx
    /// whose message names the field, and nothing written.
    @Test func badExpiryInputIsRefusedAndWritesNothing() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let client = node.client()
        #expect(try client.postJSON("/v1/purchases", #"{"receipt_id":"OK1","account_id":"alice","amount_fen":1000}"#).status == 201)
        let entriesBefore = try client.getJSON("/v1/status")["entries"] as? Int
        let past = "2020-01-01T00:00:00Z", later = "2099-01-01T00:00:00Z"
        let manyAccounts = (0...1_000).map { "\"a\($0)\"" }.joined(separator: ",")
        let cases: [(method: String, path: String, body: String, status: Int, code: String, field: String)] = [
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"days","days":0,"effective_at":"\#(later)"}"#, 400, "invalid_field", "days"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"days","days":100000,"effective_at":"\#(later)"}"#, 400, "invalid_field", "days"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"months_end","months":0,"effective_at":"\#(later)"}"#, 400, "invalid_field", "months"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"months_end","months":121,"effective_at":"\#(later)"}"#, 400, "invalid_field", "months"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"weeks","days":7,"effective_at":"\#(later)"}"#, 400, "invalid_field", "rule"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"months_end","effective_at":"\#(later)"}"#, 400, "missing_field", "months"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"days","days":5,"months":5,"effective_at":"\#(later)"}"#, 400, "invalid_field", "months"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"days","days":5,"effective_at":"tomorrow"}"#, 400, "invalid_field", "effective_at"),
            ("PUT", "/v1/policies/expiry", #"{"rule":"days","days":5,"effective_at":"\#(later)"}"#, 400, "missing_field", "version_id"),
            ("PUT", "/v1/policies/expiry", #"{"version_id":"v","rule":"days","days":5,"effective_at":"\#(past)"}"#, 409, "notice_too_short", "effective_at"),
            ("POST", "/v1/policies/expiry", #"{"version_id":"v","rule":"days","days":500,"effective_at":"\#(later)"}"#, 405, "method_not_allowed", "PUT"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reference":"I","accounts":["alice"],"points":5}"#, 400, "missing_field", "reason"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"  ","reference":"I","accounts":["alice"],"points":5}"#, 400, "invalid_field", "reason"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"r","accounts":["alice"],"points":5}"#, 400, "missing_field", "reference"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"r","reference":"I","points":5}"#, 400, "missing_field", "accounts"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"r","reference":"I","accounts":["alice","ghost"],"points":5}"#, 404, "unknown_account", "accounts[1]"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"r","reference":"I","accounts":["alice","alice"],"points":5}"#, 400, "invalid_field", "accounts[1]"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"r","reference":"I","accounts":[\#(manyAccounts)],"points":5}"#, 400, "invalid_field", "accounts"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"grant","reason":"r","reference":"I","accounts":["alice"],"points":0}"#, 400, "invalid_field", "points"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"refund","reason":"r","reference":"I","accounts":["alice"],"points":5}"#, 400, "invalid_field", "action"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"extend_expiry","reason":"r","reference":"I","expiring_from":"\#(later)","expiring_to":"\#(past)","days":5}"#, 400, "invalid_field", "expiring_to"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"extend_expiry","reason":"r","reference":"I","expiring_from":"\#(past)","expiring_to":"\#(later)"}"#, 400, "missing_field", "days"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"extend_expiry","reason":"r","reference":"I","expiring_from":"\#(past)","expiring_to":"\#(later)","days":5,"points":3}"#, 400, "invalid_field", "points"),
            ("POST", "/v1/compensations", #"{"batch_id":"B","action":"extend_expiry","reason":"r","reference":"I","accounts":["alice"],"expiring_from":"\#(past)","expiring_to":"\#(later)","days":0}"#, 400, "invalid_field", "days"),
            ("POST", "/v1/reminders/acks", #"{"request_id":"K","reminders":[]}"#, 400, "invalid_field", "reminders"),
            ("POST", "/v1/reminders/acks", #"{"request_id":"K","reminders":[{"account_id":"alice","expires_at":"soon","within_days":30}]}"#, 400, "invalid_field", "expires_at"),
            ("GET", "/v1/reminders", "", 400, "missing_field", "within_days"),
            ("GET", "/v1/reminders?within_days=0", "", 400, "invalid_field", "within_days"),
            ("GET", "/v1/reminders?within_days=abc", "", 400, "invalid_field", "within_days"),
            ("GET", "/v1/reminders?within_days=30&format=xml", "", 400, "invalid_field", "format"),
            ("GET", "/v1/reminders?within_days=30&after=garbage", "", 400, "invalid_field", "after"),
            ("GET", "/v1/lots?expiring_to=\(later)", "", 400, "missing_field", "expiring_from"),
        ]
        for item in cases {
            let response = try client.send(item.method, item.path, body: item.body.isEmpty ? nil : Array(item.body.utf8))
            #expect(response.status == item.status, "\(item.method) \(item.path) \(item.body.prefix(200)): \(response.bodyText)")
            #expect(response.errorCode == item.code, "\(item.path) \(item.body.prefix(200)): \(response.bodyText)")
            #expect(response.bodyText.contains(item.field), "the refusal names \(item.field): \(response.bodyText)")
        }
        #expect(try client.getJSON("/v1/status")["entries"] as? Int == entriesBefore, "nothing was written")
        #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
    }

    @Test func badRequestsAreRefusedAndWriteNothing() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let client = node.client()
        #expect(try client.postJSON("/v1/purchases", #"{"receipt_id":"OK1","account_id":"alice","amount_fen":1000}"#).status == 201)
        let entriesBefore = try client.getJSON("/v1/status")["entries"] as? Int

        for (body, code) in Self.badPurchases {
            let response = try client.postJSON("/v1/purchases", body)
            #expect(response.status == 400, "\(body)")
            #expect(response.errorCode == code, "\(body): \(response.bodyText)")
            #expect((response.json["error"] as? [String: Any])?["message"] is String)
        }
        for (body, problem) in Self.malformedJSON {
            let response = try client.postJSON("/v1/purchases", body)
            #expect(response.status == 400 && response.errorCode == "invalid_json", "\(body)")
            #expect(response.bodyText.contains(problem), "\(body): \(response.bodyText)")
        }
        var invalidUTF8 = Array(#"{"receipt_id":"R"#.utf8)
        invalidUTF8 += [0xC3, 0x28] + Array(#"","account_id":"a","amount_fen":100}"#.utf8)
        let utf8 = try client.send("POST", "/v1/purchases", body: invalidUTF8)
        #expect(utf8.status == 400 && utf8.bodyText.contains("not valid UTF-8"), "\(utf8.bodyText)")
        let unknown = try client.postJSON("/v1/purchases", #"{"receipt_id":"R","account_id":"a","amount_fen":100,"itemz":[]}"#)
        #expect(unknown.bodyText.contains("itemz"), "the refusal names the unknown field: \(unknown.bodyText)")
        let exponent = try client.postJSON("/v1/redemptions", #"{"request_id":"Q","account_id":"alice","points":1e1}"#)
        #expect(exponent.errorCode == "invalid_field" && exponent.bodyText.contains("without a fraction or exponent"))
        let otherBad: [(String, String, Int, String)] = [
            ("/v1/refunds", #"{"refund_id":"F","receipt_id":"R","amount_fen":0}"#, 400, "invalid_field"),
            ("/v1/refunds", #"{"refund_id":"F","receipt_id":"nope","amount_fen":10}"#, 404, "receipt_not_found"),
            ("/v1/refunds", #"{"refund_id":"F","receipt_id":"OK1","amount_fen":1001}"#, 409, "refund_exceeds_purchase"),
            ("/v1/redemptions", #"{"request_id":"Q","account_id":"alice","points":-1}"#, 400, "invalid_field"),
            ("/v1/redemptions", #"{"request_id":"Q","account_id":"alice","points":11}"#, 409, "insufficient_points"),
            ("/v1/redemptions", #"{"request_id":"Q","account_id":"alice","points":1,"member_id":7}"#, 400, "invalid_field"),
            ("/v1/purchases", #"{"receipt_id":"OK1","account_id":"alice","amount_fen":1001}"#, 409, "idempotency_conflict"),
            ("/v1/nowhere", "{}", 404, "not_found"),
            ("/v1/refunds", #"{"refund_id":"F","receipt_id":"OK1","amount_fen":10,"reason":"x"}"#, 400, "unknown_field"),
            ("/v1/redemptions", #"{"request_id":"Q","account_id":"alice","points":1,"reward":"r"}"#, 400, "unknown_field"),
            ("/v1/cluster/retirements", #"{"node_id":"never-seen"}"#, 404, "unknown_node"),
            ("/v1/cluster/retirements", #"{"node_id":"x","forse":true}"#, 400, "unknown_field"),
        ]
        for (path, body, status, code) in otherBad {
            let response = try client.postJSON(path, body)
            #expect(response.status == status, "\(path) \(body)")
            #expect(response.errorCode == code, "\(path) \(body): \(response.bodyText)")
        }
        // Spec-valid edge cases are accepted: an empty cursor is the first page, null optionals are absent.
        #expect(try client.send("GET", "/v1/accounts/alice/entries?before=").status == 200)
        #expect(try client.postJSON("/v1/purchases", #"{"receipt_id":"OK2","account_id":"bob","amount_fen":100,"items":null}"#).status == 201)
        #expect(try client.postJSON("/v1/redemptions", #"{"request_id":"QN","account_id":"bob","points":1,"reward_id":null,"member_id":null}"#).status == 201)
        let empty = try client.send("POST", "/v1/purchases", body: [])
        #expect(empty.status == 400 && empty.errorCode == "invalid_json")
        #expect(try client.send("DELETE", "/v1/status").status == 405)
        #expect(try client.send("GET", "/v1/accounts/\(Self.longID)").errorCode == "invalid_field")
        #expect(try client.send("GET", "/v1/accounts/a%20b").errorCode == "invalid_field")
        #expect(try client.send("GET", "/v1/accounts/alice/entries?limit=0").errorCode == "invalid_field")
        #expect(try client.send("GET", "/v1/accounts/alice/entries?before=garbage").errorCode == "invalid_field")
        let wrongType = try client.sendRaw(Array("POST /v1/purchases HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}".utf8))
        #expect(wrongType.status == 415)

        // Protocol-level abuse, each on its own connection since the server closes it.
        let oversized = try node.client().sendRaw(Array("POST /v1/purchases HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n".utf8))
        #expect(oversized.status == 413 && oversized.errorCode == "body_too_large")
        #expect(oversized.bodyText.contains("limit of 1048576 bytes"), "the 413 states the limit: \(oversized.bodyText)")
        let chunked = try node.client().sendRaw(Array("POST /v1/purchases HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n".utf8))
        #expect(chunked.status == 411)
        let headers = try node.client().sendRaw(Array(("GET /v1/status HTTP/1.1\r\nX: " + String(repeating: "h", count: 20_000) + "\r\n\r\n").utf8))
        #expect(headers.status == 431)
        let garbage = try node.client().sendRaw([0, 1, 2, 255, 254, 13, 10, 13, 10])
        #expect(garbage.status == 400 && garbage.errorCode == "bad_request")

        let status = try node.client().getJSON("/v1/status")
        #expect(status["entries"] as? Int == (entriesBefore ?? 0) + 2, "only the two valid writes add entries")
        #expect(try node.client().getJSON("/v1/accounts/alice")["balance"] as? Int == 10)
        #expect(try runPointmesh(["verify", "--data", node.dataDirectory]).status == 0)
    }

    /// A client that sends half a request and stalls gets 408 at the deadline, while other
    /// clients are served meanwhile.
    @Test func stalledRequestsTimeOutWithoutBlockingOthers() throws {
        let node = try NodeProcess(extraArguments: ["--http-request-timeout-ms", "400"])
        defer { node.stop(); node.removeFiles() }
        let stalled = try TCPConnection.connect(to: node.httpAddress)
        defer { stalled.close() }
        try stalled.write(Array("POST /v1/purchases HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"rec".utf8))
        #expect(try node.client().send("GET", "/v1/status").status == 200)
        var received: [UInt8] = []
        while let bytes = try stalled.read(waitingAtMost: 5_000), !bytes.isEmpty {
            received += bytes
        }
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 408"), "\(text)")
        #expect(text.contains("request_timeout"))
    }
}

@Suite struct ConnectionHandlingTests {
    /// Many pipelined requests whose answers the client reads only after sending them all: the
    /// server must stop and resume writing as the socket fills and drains, and answer every one.
    @Test func pipelinedRequestsWithASlowReaderAreAllAnswered() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let socket = try TCPConnection.connect(to: node.httpAddress)
        defer { socket.close() }
        let count = 300
        var requests: [UInt8] = []
        for index in 0..<count {
            requests += Array("GET /openapi.json?n=\(index) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        }
        try socket.write(requests)
        usleep(300_000)
        var received: [UInt8] = []
        let expected = Array(APIDescription.json.utf8).count
        while received.count < count * expected, let bytes = try socket.read(waitingAtMost: 5_000), !bytes.isEmpty {
            received += bytes
        }
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == count)
        #expect(try node.client().send("GET", "/v1/status").status == 200)
    }

    /// At the limit a new connection takes the place of the one idle longest; only when every
    /// connection is in the middle of a request is it refused with 503.
    @Test func connectionsBeyondTheLimitTakeAnIdlePlaceOrAreRefusedWith503() throws {
        let node = try NodeProcess(extraArguments: ["--max-connections", "2"])
        defer { node.stop(); node.removeFiles() }
        let first = node.client(), second = node.client()
        #expect(try first.send("GET", "/v1/status").status == 200)
        #expect(try second.send("GET", "/v1/status").status == 200)
        #expect(try node.client().send("GET", "/v1/status").status == 200, "an idle keep-alive connection made room")
        // Two connections each halfway through a request: neither is idle, so a third is refused.
        let busy = try (0..<2).map { _ in
            let connection = try TCPConnection.connect(to: node.httpAddress)
            try connection.write(Array("POST /v1/purchases HTTP/1.1\r\nContent-Length: 50\r\n\r\n{".utf8))
            usleep(200_000)
            return connection
        }
        defer { busy.forEach { $0.close() } }
        let third = try node.client().send("GET", "/v1/status")
        #expect(third.status == 503 && third.errorCode == "overloaded", "\(third.status) \(third.bodyText)")
    }

    /// Reproduction: 512 connections that never send a request don't lock a till out.
    @Test func aFloodOfSilentConnectionsDoesNotLockOutATill() throws {
        let node = try NodeProcess(extraArguments: ["--max-connections", "64", "--http-request-timeout-ms", "1000"])
        defer { node.stop(); node.removeFiles() }
        let silent = try (0..<512).map { _ in try TCPConnection.connect(to: node.httpAddress) }
        defer { silent.forEach { $0.close() } }
        usleep(100_000)
        let till = try node.client().postJSON("/v1/purchases", #"{"receipt_id":"T1","account_id":"tina","amount_fen":1000}"#)
        #expect(till.status == 201, "\(till.status) \(till.bodyText)")
        // And those still open are closed at the request deadline, not held for the idle time.
        var closed = 0
        for connection in silent.suffix(32) {
            if let bytes = try connection.read(waitingAtMost: 3_000), bytes.isEmpty { closed += 1 }
        }
        #expect(closed == 32)
    }
}

@Suite struct InputBackpressureTests {
    private func residentKilobytes(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// A client that pipelines requests without ever reading the answers stops being read once
    /// one request's worth is buffered: the node's memory does not grow with what it sends.
    @Test func aClientThatNeverReadsCannotMakeTheNodeBufferWithoutBound() throws {
        let node = try NodeProcess(extraArguments: ["--role", "hq"])
        defer { node.stop(); node.removeFiles() }
        let before = residentKilobytes(node.process.processIdentifier)
        let socket = try TCPConnection.connect(to: node.httpAddress)
        defer { socket.close() }
        _ = fcntl(socket.fd, F_SETFL, fcntl(socket.fd, F_GETFL) | O_NONBLOCK)
        let chunk = Array(String(repeating: "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n", count: 1_000).utf8)
        var sent = 0
        var stalledSince: Date?
        while sent < 40_000_000 {
            let result = chunk.withUnsafeBytes { send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if result > 0 {
                sent += result
                stalledSince = nil
            } else {
                if stalledSince == nil { stalledSince = Date() }
                if Date().timeIntervalSince(stalledSince ?? Date()) > 1 { break }
                usleep(10_000)
            }
        }
        let grown = residentKilobytes(node.process.processIdentifier) - before
        #expect(sent < 40_000_000, "the node kept reading \(sent) bytes from a client that never reads")
        #expect(grown < 30_000, "resident memory grew by \(grown) KiB")
        #expect(try node.client().send("GET", "/v1/status").status == 200)
    }
}
