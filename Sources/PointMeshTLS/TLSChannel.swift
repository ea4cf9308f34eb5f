import CLibSSL
#if canImport(Glibc)
import Glibc
#endif

/// One TLS 1.3 connection over a connected, blocking socket the caller owns (and closes
/// after this channel is gone). Used by one thread. Every wait is bounded: the handshake and
/// each write by `timeoutMilliseconds`, each read by what the caller asks.
public final class TLSChannel {
    public enum Role: Sendable { case client, server }

    private let ssl: OpaquePointer
    private let fd: Int32
    private let timeoutMilliseconds: Int32
    /// Held so the SSL_CTX outlives the session made from it.
    private let context: TLSContext
    private var scratch = [UInt8](repeating: 0, count: 65_536)
    /// What the peer's certificate says, when the session was authenticated by certificates;
    /// nil when by the cluster key.
    public private(set) var peer: NodeCertificateFacts?

    /// Runs the handshake as `role`; throws `TLSError` when the peer can't be authenticated
    /// (the session is freed by `deinit` then too). Keeps `context` alive as long as the channel.
    /// A client with `expectedHost` checks that the server's certificate names it (a DNS
    /// name or an IP address), as HTTPS does; gossip peers are checked by node id instead.
    public init(context: TLSContext, fd: Int32, role: Role, timeoutMilliseconds: Int32, expectedHost: String? = nil) throws(TLSError) {
        guard let ssl = SSL_new(context.context) else { throw .handshake(TLSContext.reason("start a session")) }
        self.ssl = ssl
        self.fd = fd
        self.timeoutMilliseconds = timeoutMilliseconds
        self.context = context
        Self.bound(fd, milliseconds: timeoutMilliseconds)
        if role == .server { try Self.expectTLS(on: fd, waitingAtMost: timeoutMilliseconds) }
        guard SSL_set_fd(ssl, fd) == 1 else { throw .handshake(TLSContext.reason("attach the socket")) }
        if let expectedHost, SSL_set1_host(ssl, expectedHost) != 1 { throw .handshake(TLSContext.reason("expect host \(expectedHost)")) }
        let done = role == .client ? SSL_connect(ssl) : SSL_accept(ssl)
        guard done == 1 else { throw handshakeFailure(done) }
        if SSL_session_reused(ssl) == 0, let certificate = SSL_get0_peer_certificate(ssl) {
            peer = ChainCertificates.facts(of: certificate)
        }
    }

    deinit { SSL_free(ssl) }

    /// Bytes on the wire (records, handshake included), each way.
    public var bytesRead: Int { SSL_get_rbio(ssl).map { Int(BIO_number_read($0)) } ?? 0 }
    public var bytesWritten: Int { SSL_get_wbio(ssl).map { Int(BIO_number_written($0)) } ?? 0 }

    /// Whether the session was authenticated by the cluster key rather than by certificates.
    public var usedPresharedKey: Bool { SSL_session_reused(ssl) == 1 }

    /// `length` bytes both sides derive from this session alone (RFC 8446's exporter): keys
    /// for whatever the two run inside it.
    public func exportedKey(label: String, length: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let labelBytes = Array(label.utf8)
        _ = SSL_export_keying_material(ssl, &out, length, labelBytes.map { CChar(bitPattern: $0) }, labelBytes.count, nil, 0, 0)
        return out
    }

    /// Reads what is available, waiting up to `milliseconds`. Returns nil on timeout and an
    /// empty array when the peer closed.
    public func read(waitingAtMost milliseconds: Int32) throws(TLSError) -> [UInt8]? {
        let deadline = Self.now() + Int64(milliseconds)
        while true {
            if SSL_pending(ssl) == 0 {
                let left = deadline - Self.now()
                guard left > 0, Self.waitReadable(fd, milliseconds: Int32(left)) else { return nil }
            }
            var count = 0
            let ok = scratch.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if ok == 1 { return Array(scratch[0..<count]) }
            switch SSL_get_error(ssl, ok) {
            case SSL_ERROR_ZERO_RETURN:
                return []
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                // A record only partly arrived (the socket's own timeout ended the wait), or
                // the bytes were a record that carries no data: wait on to the deadline.
                continue
            case SSL_ERROR_SYSCALL where errno == 0 || errno == ECONNRESET || errno == EPIPE:
                ERR_clear_error()
                return []
            case SSL_ERROR_SYSCALL where errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR:
                continue
            default:
                throw .broken(TLSContext.reason("read"))
            }
        }
    }

    /// Writes every byte, or throws.
    public func write(_ bytes: [UInt8]) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            var written = 0
            let ok = bytes.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress! + offset, $0.count - offset, &written) }
            guard ok == 1 else {
                switch SSL_get_error(ssl, ok) {
                // The socket's send timeout ran out.
                case SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_READ: throw .timedOut
                case SSL_ERROR_SYSCALL where errno == EAGAIN || errno == EWOULDBLOCK: throw .timedOut
                case SSL_ERROR_SYSCALL where errno == EPIPE || errno == ECONNRESET:
                    ERR_clear_error()
                    throw .closed
                default: throw .broken(TLSContext.reason("write"))
                }
            }
            offset += written
        }
    }

    /// Why a handshake step failed, in words an operator can act on.
    private func handshakeFailure(_ result: Int32) -> TLSError {
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_ZERO_RETURN { return .closed }
        // The socket's timeout ran out with the handshake unfinished: a slow peer, not a wrong one.
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return .timedOut }
        if code == SSL_ERROR_SYSCALL, ERR_peek_error() == 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return .timedOut }
            return .closed
        }
        let verified = SSL_get_verify_result(ssl)
        let reason = TLSContext.reason("complete the handshake")
        if verified != X509_V_OK {
            return .handshake("the peer's certificate does not verify against the chain's authority: \(String(cString: X509_verify_cert_error_string(verified)))")
        }
        return .handshake(reason)
    }

    /// A server's first look at the connection: a TLS handshake record starts with 22; the
    /// length-prefixed frames of release 0.6 start with 0.
    private static func expectTLS(on fd: Int32, waitingAtMost milliseconds: Int32) throws(TLSError) {
        guard waitReadable(fd, milliseconds: milliseconds) else { throw .timedOut }
        switch opening(of: fd) {
        case .handshake: return
        case .plain: throw .plainPeer
        case .closed: throw .closed
        case .notYet: throw .timedOut
        }
    }

    /// What the first byte waiting on `fd` says, left in place: a TLS handshake record starts
    /// with 22; plain HTTP, or the length-prefixed frames of gossip before 0.8, with anything else.
    enum Opening { case handshake, plain, closed, notYet }

    static func opening(of fd: Int32) -> Opening {
        var first: UInt8 = 0
        let peeked = recv(fd, &first, 1, Int32(MSG_PEEK))
        if peeked == 0 { return .closed }
        if peeked < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .notYet : .closed }
        return first == 22 ? .handshake : .plain
    }

    /// Bounds every blocking read and write on `fd`, so a peer that stops halfway through a
    /// record or a handshake can't hold the thread.
    private static func bound(_ fd: Int32, milliseconds: Int32) {
        var limit = timeval(tv_sec: Int(milliseconds / 1_000), tv_usec: Int(milliseconds % 1_000) * 1_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func waitReadable(_ fd: Int32, milliseconds: Int32) -> Bool {
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&pollFD, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            return ready > 0
        }
    }

    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }
}
