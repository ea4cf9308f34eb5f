/// Limits the parser enforces on each request.
public struct ParserLimits: Sendable {
    /// Request line plus headers, including the blank line that ends them.
    public var maximumHeadBytes = 16 * 1024
    public var maximumHeaderCount = 100
    public var maximumBodyBytes = 1024 * 1024

    public init() {}
}

/// Why a request was refused before it reached a handler. Each maps to one status; after any of
/// them the server answers and closes the connection, since the byte stream can't be trusted.
public enum RequestParseError: Error, Equatable, Sendable {
    case malformed(String)
    case headersTooLarge(limit: Int)
    case tooManyHeaders(limit: Int)
    case bodyTooLarge(declared: Int, limit: Int)
    case lengthRequired
    case unsupportedVersion(String)

    public var status: Int {
        switch self {
        case .malformed: 400
        case .headersTooLarge, .tooManyHeaders: 431
        case .bodyTooLarge: 413
        case .lengthRequired: 411
        case .unsupportedVersion: 505
        }
    }

    public var code: String {
        switch self {
        case .malformed: "bad_request"
        case .headersTooLarge, .tooManyHeaders: "headers_too_large"
        case .bodyTooLarge: "body_too_large"
        case .lengthRequired: "length_required"
        case .unsupportedVersion: "http_version_not_supported"
        }
    }

    public var message: String {
        switch self {
        case .malformed(let why): "malformed request: \(why)"
        case .headersTooLarge(let limit): "request line and headers exceed the limit of \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .bodyTooLarge(let declared, let limit): "request body of \(declared) bytes exceeds the limit of \(limit) bytes"
        case .lengthRequired: "a body must be sent with Content-Length; Transfer-Encoding is not accepted"
        case .unsupportedVersion(let version): "unsupported HTTP version \(version)"
        }
    }
}

/// An incremental HTTP/1.x request parser: feed it bytes as they arrive and ask for the next
/// request. Pure: no sockets, no clock. It never holds more than one request's head limit of
/// bytes while waiting for a head, nor more than the body limit for a body.
public struct RequestParser: Sendable {
    public enum Step: Sendable {
        case needMoreBytes
        case request(HTTPRequest)
        case failure(RequestParseError)
    }

    private struct Head {
        var method: String
        var target: String
        var version: HTTPVersion
        var headers: [(name: String, value: String)]
        var bodyLength: Int
    }

    public let limits: ParserLimits
    private var buffer: [UInt8] = []
    private var searchedUpTo = 0
    private var pendingHead: (head: Head, bodyStart: Int)?

    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
    }

    /// True when part of a request has arrived but not all of it.
    public var hasPartialRequest: Bool { !buffer.isEmpty }

    /// Bytes received and not yet handed out as requests.
    public var bufferedBytes: Int { buffer.count }

    public mutating func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, a failure, or a request for more bytes.
    public mutating func next() -> Step {
        if pendingHead == nil {
            guard let end = findHeadEnd() else {
                return buffer.count > limits.maximumHeadBytes ? .failure(.headersTooLarge(limit: limits.maximumHeadBytes)) : .needMoreBytes
            }
            if end > limits.maximumHeadBytes { return .failure(.headersTooLarge(limit: limits.maximumHeadBytes)) }
            switch parseHead(buffer[0..<(end - 4)]) {
            case .success(let head): pendingHead = (head, end)
            case .failure(let error): return .failure(error)
            }
        }
        guard let (head, bodyStart) = pendingHead else { return .needMoreBytes }
        guard buffer.count - bodyStart >= head.bodyLength else { return .needMoreBytes }
        let body = Array(buffer[bodyStart..<(bodyStart + head.bodyLength)])
        buffer.removeFirst(bodyStart + head.bodyLength)
        pendingHead = nil
        searchedUpTo = 0
        return .request(HTTPRequest(method: head.method, target: head.target, version: head.version, headers: head.headers, body: body))
    }

    /// Index just past `\r\n\r\n`, scanning only bytes not scanned before.
    private mutating func findHeadEnd() -> Int? {
        let crlfcrlf: [UInt8] = [13, 10, 13, 10]
        var index = max(0, searchedUpTo - 3)
        while index + 4 <= buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 {
                return index + crlfcrlf.count
            }
            index += 1
        }
        searchedUpTo = buffer.count
        return nil
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) -> Result<Head, RequestParseError> {
        let lines = splitCRLF(bytes)
        guard let requestLine = lines.first, !requestLine.isEmpty else { return .failure(.malformed("empty request line")) }
        guard let text = String(validating: requestLine, as: UTF8.self) else { return .failure(.malformed("request line is not UTF-8")) }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.malformed("request line must be METHOD TARGET VERSION")) }
        let method = String(parts[0]), target = String(parts[1]), versionText = String(parts[2])
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return .failure(.malformed("invalid method"))
        }
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return .failure(.malformed("invalid request target"))
        }
        guard versionText.hasPrefix("HTTP/") else { return .failure(.malformed("invalid HTTP version")) }
        guard let version = HTTPVersion(rawValue: versionText) else { return .failure(.unsupportedVersion(versionText)) }

        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        var transferEncoding = false
        for line in lines.dropFirst() {
            if headers.count >= limits.maximumHeaderCount { return .failure(.tooManyHeaders(limit: limits.maximumHeaderCount)) }
            guard let first = line.first else { return .failure(.malformed("empty header line")) }
            if first == 32 || first == 9 { return .failure(.malformed("folded header lines are not accepted")) }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .failure(.malformed("header line without a colon")) }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenByte) else { return .failure(.malformed("invalid header name")) }
            let valueBytes = line[(colon + 1)...]
            guard valueBytes.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                return .failure(.malformed("control character in a header value"))
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: valueBytes, as: UTF8.self).trimmingSpaces
            switch name.lowercased() {
            case "content-length":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    return .failure(.malformed("invalid Content-Length"))
                }
                // More digits than an Int holds is certainly over the body limit.
                guard let length = Int(value) else { return .failure(.bodyTooLarge(declared: Int.max, limit: limits.maximumBodyBytes)) }
                if let earlier = contentLength, earlier != length { return .failure(.malformed("conflicting Content-Length headers")) }
                contentLength = length
            case "transfer-encoding":
                transferEncoding = true
            default:
                break
            }
            headers.append((name, value))
        }
        if transferEncoding { return .failure(.lengthRequired) }
        let bodyLength = contentLength ?? 0
        if bodyLength > limits.maximumBodyBytes { return .failure(.bodyTooLarge(declared: bodyLength, limit: limits.maximumBodyBytes)) }
        return .success(Head(method: method, target: target, version: version, headers: headers, bodyLength: bodyLength))
    }

    /// Splits on CRLF; a lone CR or LF inside a line makes the line invalid (it would let two
    /// parsers disagree on where headers end).
    private func splitCRLF(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 13, index + 1 < bytes.endIndex, bytes[index + 1] == 10 {
                lines.append(bytes[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }
}

/// RFC 9110 token characters, for header names.
private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
