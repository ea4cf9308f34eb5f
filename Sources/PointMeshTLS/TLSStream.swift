import CLibSSL
#if canImport(Glibc)
import Glibc
#endif

/// A server's TLS connection over a non-blocking socket, for an event loop: each call does
/// what the socket allows now and says what it waits for. The handshake runs inside the first
/// reads. The loop owns and closes the socket; this frees only the TLS session.
public final class TLSStream {
    /// What a read or write did.
    public enum Outcome: Equatable {
        /// Moved this many plain bytes (more than 0).
        case transferred(Int)
        /// The peer closed the connection.
        case closed
        /// Nothing more until the socket is readable.
        case wantsRead
        /// Nothing more until the socket is writable (a handshake reply it could not take).
        case wantsWrite
        /// The first bytes are no TLS handshake: a plain request to a TLS port.
        case plainRequest
        /// The handshake or a record failed; `reason` is OpenSSL's.
        case failed(String)
    }

    private let ssl: OpaquePointer
    private let fd: Int32
    /// Held so the SSL_CTX outlives the session made from it.
    private let context: TLSContext
    private var checkedFirstByte = false

    public init(context: TLSContext, fd: Int32) throws(TLSError) {
        guard let ssl = SSL_new(context.context) else { throw .handshake(TLSContext.reason("start a session")) }
        self.ssl = ssl
        self.fd = fd
        self.context = context
        guard SSL_set_fd(ssl, fd) == 1 else { throw .handshake(TLSContext.reason("attach the socket")) }
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    /// Decrypted bytes held inside TLS that no socket event will announce.
    public var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Outcome {
        if !checkedFirstByte {
            switch TLSChannel.opening(of: fd) {
            case .handshake: checkedFirstByte = true
            case .plain: return .plainRequest
            case .closed: return .closed
            case .notYet: return .wantsRead
            }
        }
        var count = 0
        let ok = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        return ok == 1 ? .transferred(count) : outcome(of: ok)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var count = 0
        let ok = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &count)
        return ok == 1 ? .transferred(count) : outcome(of: ok)
    }

    private func outcome(of result: Int32) -> Outcome {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantsRead
        case SSL_ERROR_WANT_WRITE: return .wantsWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wantsRead }
            return .closed
        default:
            return .failed(TLSContext.reason("read or write"))
        }
    }
}
