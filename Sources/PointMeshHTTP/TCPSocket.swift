#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket.
public final class TCPListener: Sendable {
    public let fd: Int32
    public let address: HostPort

    /// Binds and listens on `address` (port 0 picks a free port; `address` then reports it).
    public init(binding requested: HostPort, backlog: Int32 = 511) throws(SystemError) {
        var lastError = SystemError(operation: "bind \(requested)", errno: EADDRNOTAVAIL)
        for (family, bytes) in try requested.resolve() {
            let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = bytes.withUnsafeBytes { raw in
                bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
            if bound != 0 || listen(fd, backlog) != 0 {
                lastError = SystemError(operation: "bind \(requested)", errno: errno)
                Syscall.close(fd)
                continue
            }
            self.fd = fd
            self.address = try boundAddress(of: fd)
            return
        }
        throw lastError
    }

    /// Waits up to `milliseconds` for a connection; nil when none came.
    public func accept(waitingAtMost milliseconds: Int32) throws(SystemError) -> TCPConnection? {
        guard try Syscall.waitReadable(fd, milliseconds: milliseconds) else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        if client < 0 {
            // The peer may have gone between poll and accept; that is not the listener's failure.
            if [EAGAIN, EWOULDBLOCK, ECONNABORTED, EINTR, EPROTO].contains(errno) { return nil }
            throw SystemError(operation: "accept", errno: errno)
        }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        return TCPConnection(fd: client)
    }

    public func close() { Syscall.close(fd) }
}

/// A connected TCP socket with blocking reads bounded by `poll` and complete writes.
public final class TCPConnection: @unchecked Sendable {
    public let fd: Int32
    /// Reused for every read, so a read allocates only what arrived. One reader at a time.
    private var scratch = [UInt8](repeating: 0, count: 65_536)

    init(fd: Int32) {
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Connects to `address`, giving up after `timeoutMilliseconds`.
    public static func connect(to address: HostPort, timeoutMilliseconds: Int32 = 5_000) throws(SystemError) -> TCPConnection {
        var lastError = SystemError(operation: "connect \(address)", errno: ECONNREFUSED)
        for (family, bytes) in try address.resolve() {
            let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            let rc = bytes.withUnsafeBytes { raw in
                Glibc.connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
            var failure: Int32 = 0
            if rc != 0 {
                if errno == EINPROGRESS {
                    var pollFD = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&pollFD, 1, timeoutMilliseconds) <= 0 {
                        failure = ETIMEDOUT
                    } else {
                        var length = socklen_t(MemoryLayout<Int32>.size)
                        getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
                    }
                } else {
                    failure = errno
                }
            }
            if failure != 0 {
                lastError = SystemError(operation: "connect \(address)", errno: failure)
                Syscall.close(fd)
                continue
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
            return TCPConnection(fd: fd)
        }
        throw lastError
    }

    /// Reads what is available, waiting up to `milliseconds`. Returns nil on timeout and an
    /// empty array when the peer closed.
    public func read(waitingAtMost milliseconds: Int32) throws -> [UInt8]? {
        guard try Syscall.waitReadable(fd, milliseconds: milliseconds) else { return nil }
        let count = try scratch.withUnsafeMutableBytes { raw in try Syscall.read(fd, into: raw) }
        return Array(scratch[0..<count])
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in try Syscall.writeAll(fd, raw) }
    }

    /// Shuts the connection down both ways: a thread blocked reading or writing on it wakes
    /// with end-of-stream or an error. The descriptor stays open until `close`.
    public func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    public func close() { Syscall.close(fd) }
}
