import Foundation
import PointMeshTLS

/// A response as `HTTPClient` reads it.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a client request failed below HTTP.
public enum HTTPClientError: Error, CustomStringConvertible {
    case connectionClosed
    case timedOut
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .connectionClosed: "the server closed the connection"
        case .timedOut: "the server did not answer in time"
        case .malformedResponse(let why): "malformed response: \(why)"
        }
    }
}

/// A small blocking HTTP/1.1 client over one keep-alive connection, for the CLI, the benchmark
/// and tests. It reads `Content-Length` responses, which is all the PointMesh server sends.
/// Used by one thread at a time.
public final class HTTPClient {
    public let address: HostPort
    public let timeoutMilliseconds: Int32
    /// HTTPS: the context the server's certificate is verified with (`TLSContext.httpsClient`),
    /// against `address`'s host; nil: plain HTTP.
    public let tls: TLSContext?
    private var connection: TCPConnection?
    private var channel: TLSChannel?
    private var buffer: [UInt8] = []

    public init(address: HostPort, timeoutMilliseconds: Int32 = 30_000, tls: TLSContext? = nil) {
        self.address = address
        self.timeoutMilliseconds = timeoutMilliseconds
        self.tls = tls
    }

    deinit { close() }

    /// Sends one request and reads its response. A keep-alive connection the server has since
    /// closed is reopened once; PointMesh writes carry ids, so resending one is safe.
    public func send(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [(name: String, value: String)] = []) throws -> HTTPClientResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\n"
        for header in headers where !header.value.contains(where: \.isNewline) { head += "\(header.name): \(header.value)\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        let request = Array((head + "\r\n").utf8) + (body ?? [])
        let reused = connection != nil
        do {
            return try exchange(request)
        } catch {
            close()
            guard reused else { throw error }
            return try exchange(request)
        }
    }

    /// Sends raw bytes and reads one response, for tests of malformed requests.
    public func sendRaw(_ bytes: [UInt8]) throws -> HTTPClientResponse {
        try exchange(bytes)
    }

    public func close() {
        channel = nil
        connection?.close()
        connection = nil
        buffer = []
    }

    private func exchange(_ request: [UInt8]) throws -> HTTPClientResponse {
        if connection == nil {
            let opened = try TCPConnection.connect(to: address, timeoutMilliseconds: timeoutMilliseconds)
            // The connection is kept only once TLS is up: a failed handshake must never leave a
            // socket the next request would be written to in clear.
            do {
                channel = try tls.map { try TLSChannel(context: $0, fd: opened.fd, role: .client, timeoutMilliseconds: timeoutMilliseconds, expectedHost: address.host) }
            } catch {
                opened.close()
                throw error
            }
            connection = opened
        }
        guard let connection else { throw HTTPClientError.connectionClosed }
        if tls != nil {
            guard let channel else { throw HTTPClientError.connectionClosed }
            try channel.write(request)
        } else {
            try connection.write(request)
        }
        let response = try readResponse(connection)
        if response.headers.contains(where: { $0.name.lowercased() == "connection" && $0.value.lowercased() == "close" }) {
            close()
        }
        return response
    }

    private func readResponse(_ connection: TCPConnection) throws -> HTTPClientResponse {
        let headEnd = try headLength(connection)
        let end = headEnd + 4
        let lines = String(decoding: buffer[0..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw HTTPClientError.malformedResponse("status line '\(lines[0])'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        while buffer.count < end + length { try fill(connection) }
        let body = Array(buffer[end..<(end + length)])
        buffer.removeFirst(end + length)
        return HTTPClientResponse(status: status, headers: headers, body: body)
    }

    /// Reads until the buffer holds a whole response head; returns where its blank line starts.
    private func headLength(_ connection: TCPConnection) throws -> Int {
        while true {
            let found = buffer.indices.dropLast(3).first { i in
                buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10
            }
            if let found { return found }
            try fill(connection)
        }
    }

    private func fill(_ connection: TCPConnection) throws {
        let read = try channel.map { try $0.read(waitingAtMost: timeoutMilliseconds) } ?? connection.read(waitingAtMost: timeoutMilliseconds)
        guard let bytes = read else { throw HTTPClientError.timedOut }
        if bytes.isEmpty { throw HTTPClientError.connectionClosed }
        buffer.append(contentsOf: bytes)
    }
}
