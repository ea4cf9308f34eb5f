#if canImport(Glibc)
import Glibc
#endif

/// A `host:port` pair as the CLI takes it (`127.0.0.1:8080`, `[::1]:0`, `localhost:7070`).
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; nil when it is not one.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Resolves to socket addresses, numeric hosts first without a lookup.
    func resolve() throws(SystemError) -> [(family: Int32, address: [UInt8])] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else { throw SystemError(operation: "getaddrinfo(\(host))", errno: EINVAL) }
        defer { freeaddrinfo(list) }
        var results: [(Int32, [UInt8])] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let info = cursor {
            let bytes = UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen))
            results.append((info.pointee.ai_family, Array(bytes)))
            cursor = info.pointee.ai_next
        }
        return results
    }
}

/// Reads the address a socket is bound to, so `port 0` can be reported as the real port.
func boundAddress(of fd: Int32) throws(SystemError) -> HostPort {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            getsockname(fd, address, &length)
        }
    }
    guard rc == 0 else { throw SystemError(operation: "getsockname", errno: errno) }
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    if Int32(storage.ss_family) == AF_INET6 {
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                var raw = address.pointee.sin6_addr
                inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                return HostPort(host: cString(text), port: UInt16(bigEndian: address.pointee.sin6_port))
            }
        }
    }
    return withUnsafePointer(to: &storage) { pointer in
        pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
            var raw = address.pointee.sin_addr
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            return HostPort(host: cString(text), port: UInt16(bigEndian: address.pointee.sin_port))
        }
    }
}

private func cString(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension HostPort {
    /// Whether the host is a loopback address or `localhost`.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
