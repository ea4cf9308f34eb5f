/// A parsed HTTP/1.x request.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, percent-decoding not applied.
    public var path: String
    public var query: [String: String]
    public var version: HTTPVersion
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, version: HTTPVersion = .http11, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.version = version
        self.headers = headers
        self.body = body
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = Self.parseQuery(target[target.index(after: mark)...])
        } else {
            path = target
            query = [:]
        }
    }

    /// The first header named `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep.
    public var keepAlive: Bool {
        let connection = header("Connection")?.lowercased()
        switch version {
        case .http11: return connection != "close"
        case .http10: return connection == "keep-alive"
        }
    }

    private static func parseQuery(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncodingSafely
            let value = parts.count > 1 ? String(parts[1]).removingPercentEncodingSafely : ""
            if result[key] == nil { result[key] = value }
        }
        return result
    }
}

/// The HTTP versions the server speaks.
public enum HTTPVersion: String, Sendable {
    case http10 = "HTTP/1.0"
    case http11 = "HTTP/1.1"
}

extension String {
    /// Percent-decodes, leaving the text as it is when it is not valid percent-encoded UTF-8.
    var removingPercentEncodingSafely: String {
        guard contains("%") || contains("+") else { return self }
        var bytes: [UInt8] = []
        var iterator = Array(utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return self }
                bytes.append(value)
            } else if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self) ?? self
    }
}
