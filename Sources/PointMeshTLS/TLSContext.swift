import CLibSSL
import PointMeshCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Why TLS could not be set up or a TLS connection ended.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The node's own credentials don't load (a missing file, a key that is not the certificate's).
    case credentials(String)
    /// The peer sent plain bytes where a TLS handshake belongs (for gossip: a node of an
    /// earlier release speaking unencrypted frames, or something that is no node at all).
    case plainPeer
    /// The handshake failed: a foreign or expired certificate, another cluster key, no
    /// credentials in common. `reason` is OpenSSL's.
    case handshake(String)
    /// The peer closed the connection.
    case closed
    /// Nothing arrived within the deadline.
    case timedOut
    /// The connection broke after the handshake (a socket error, a record that fails to decrypt).
    case broken(String)

    public var description: String {
        switch self {
        case .credentials(let why): why
        case .plainPeer: "the peer sent plain bytes where a TLS handshake belongs"
        case .handshake(let reason):
            "authentication failed in the TLS handshake (\(reason)): the peer holds another cluster key, a certificate this chain's authority "
                + "did not sign or that has expired, or no credentials this node accepts"
        case .closed: "the peer closed the connection"
        case .timedOut: "the peer stopped answering"
        case .broken(let reason): "the TLS connection broke: \(reason)"
        }
    }
}

/// Where a node's certificate, its key and the chain's authority are (`pointmesh tls issue`).
public struct CertificateFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var authority: String

    public init(certificate: String, key: String, authority: String) {
        self.certificate = certificate
        self.key = key
        self.authority = authority
    }
}

/// What a node proves itself with on a TLS connection, and what it accepts from a peer: its
/// certificate from the chain's authority, the cluster key as a TLS 1.3 external pre-shared
/// key, or both while a chain moves from one to the other.
///
/// Every connection is TLS 1.3, and there is no way to make one without credentials: a
/// context has a certificate, a pre-shared key, or both. A client offers the pre-shared key
/// when it holds one; a server that holds the same key takes it (the session is then
/// authenticated by the key, no certificate is shown). Otherwise both sides show
/// certificates and each verifies the other's against the authority (signature, validity
/// dates); a side without one is refused.
public final class TLSContext: @unchecked Sendable {
    // An SSL_CTX is safe to share between threads once set up; nothing changes it after init.
    let context: OpaquePointer
    /// The pre-shared key's box, retained for as long as the context points at it.
    private let presharedKey: Unmanaged<PresharedKey>?
    /// What this node's own certificate says, if it has one.
    public let certificate: NodeCertificateFacts?

    /// `clusterKey` is the chain's shared secret (the pre-shared key is derived from it, so
    /// the secret itself never reaches TLS); `files` the node's certificate.
    public init(clusterKey: [UInt8]?, files: CertificateFiles?) throws(TLSError) {
        Self.ignoreBrokenPipes
        guard clusterKey != nil || files != nil else { throw .credentials("TLS needs a cluster key, a node certificate, or both") }
        let context = try Self.makeContext(tls13Only: true)
        self.context = context
        presharedKey = clusterKey.map { Unmanaged.passRetained(PresharedKey(clusterKey: $0)) }
        var facts: NodeCertificateFacts?
        do throws(TLSError) {
            // No resumption tickets: sessions are long and few, and a ticket is bytes on every one.
            _ = SSL_CTX_set_num_tickets(context, 0)
            // SHA-256 suites only: the pre-shared key is a SHA-256 one, and a server that chose a
            // SHA-384 suite would pass over it.
            guard SSL_CTX_set_ciphersuites(context, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256") == 1,
                  SSL_CTX_set_session_id_context(context, PresharedKey.sessionContext, UInt32(PresharedKey.sessionContext.count)) == 1
            else { throw .credentials(Self.reason("choose the TLS 1.3 suites")) }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            if let files { facts = try Self.load(files, into: context) }
            if let presharedKey {
                SSL_CTX_set_ex_data(context, 0, presharedKey.toOpaque())
                SSL_CTX_set_psk_use_session_callback(context, offerPresharedKey)
                SSL_CTX_set_psk_find_session_callback(context, findPresharedKey)
            }
        } catch {
            SSL_CTX_free(context)
            presharedKey?.release()
            throw error
        }
        certificate = facts
    }

    private init(context: OpaquePointer, certificate: NodeCertificateFacts?) {
        Self.ignoreBrokenPipes
        self.context = context
        presharedKey = nil
        self.certificate = certificate
    }

    /// An HTTPS server's context: the certificate and key (PEM files) clients verify, TLS 1.2
    /// or 1.3, no client certificate asked for (tills prove themselves with tokens).
    /// `certificate` then says what the served certificate names and until when.
    public static func httpsServer(certificate: String, key: String) throws(TLSError) -> TLSContext {
        let context = try makeContext(tls13Only: false)
        do throws(TLSError) {
            try use(certificate: certificate, key: key, naming: "HTTPS", in: context)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        pointmesh_ssl_ctx_partial_writes(context)
        return TLSContext(context: context, certificate: SSL_CTX_get0_certificate(context).map { ChainCertificates.facts(of: $0) })
    }

    /// An HTTPS client's context: the server's certificate must verify against the
    /// certificates in `authority` (a PEM file), or the system's store when nil; the host name
    /// is checked per connection (`TLSChannel`'s `expectedHost`).
    public static func httpsClient(authority: String?) throws(TLSError) -> TLSContext {
        let context = try makeContext(tls13Only: false)
        let loaded = authority.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1 else {
            SSL_CTX_free(context)
            throw .credentials("cannot read the certificates to trust\(authority.map { " in \($0)" } ?? ""): \(reason("read them"))")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        return TLSContext(context: context, certificate: nil)
    }

    /// A new SSL_CTX for TLS 1.3 only (gossip) or 1.2 and up (HTTPS, for the clients tills
    /// run), ending a connection at a peer's close like one with close_notify.
    private static func makeContext(tls13Only: Bool) throws(TLSError) -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_method()) else { throw .credentials(reason("make a TLS context")) }
        guard (tls13Only ? pointmesh_ssl_ctx_tls13_only(context) : pointmesh_ssl_ctx_tls12_at_least(context)) == 1 else {
            SSL_CTX_free(context)
            throw .credentials(reason("set the lowest TLS version"))
        }
        pointmesh_ssl_ctx_end_at_eof(context)
        return context
    }

    /// Puts a certificate chain and its private key (PEM files) in `context`; `naming` says
    /// whose they are in the errors ("node", "HTTPS").
    private static func use(certificate: String, key: String, naming: String, in context: OpaquePointer) throws(TLSError) {
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            throw .credentials("cannot read the \(naming) certificate \(certificate): \(reason("read it"))")
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw .credentials("the \(naming) key \(key) does not load or is not the key of the certificate \(certificate): \(reason("read it"))")
        }
    }

    deinit {
        SSL_CTX_free(context)
        presharedKey?.release()
    }

    /// OpenSSL writes to its sockets with write(2), which raises SIGPIPE when the peer has
    /// reset the connection and kills a process that did not ignore it. Any process that makes
    /// a TLS context ignores it from then on: the write fails with EPIPE, handled as a close.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private static func load(_ files: CertificateFiles, into context: OpaquePointer) throws(TLSError) -> NodeCertificateFacts {
        try use(certificate: files.certificate, key: files.key, naming: "node", in: context)
        guard SSL_CTX_load_verify_locations(context, files.authority, nil) == 1 else {
            throw .credentials("cannot read the chain's authority \(files.authority): \(reason("read it"))")
        }
        guard let own = SSL_CTX_get0_certificate(context) else { throw .credentials("no certificate in \(files.certificate)") }
        // The node's own certificate must be the authority's, or every peer would refuse it.
        guard let store = SSL_CTX_get_cert_store(context), let check = X509_STORE_CTX_new() else {
            throw .credentials(reason("check the node certificate"))
        }
        defer { X509_STORE_CTX_free(check) }
        guard X509_STORE_CTX_init(check, store, own, nil) == 1 else { throw .credentials(reason("check the node certificate")) }
        guard X509_verify_cert(check) == 1 else {
            let why = String(cString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(check))))
            throw .credentials("the node certificate \(files.certificate) does not verify against the authority \(files.authority): \(why)")
        }
        return ChainCertificates.facts(of: own)
    }

    /// OpenSSL's reason for the last failure, its error queue emptied.
    static func reason(_ step: String) -> String {
        let failure = ChainCertificates.failure(step)
        if case .libcrypto(_, let reason) = failure { return reason }
        return failure.description
    }
}

/// The TLS 1.3 external pre-shared key made from the cluster key, as OpenSSL's callbacks
/// reach it.
final class PresharedKey {
    static let identity = Array("pointmesh-cluster-key".utf8)
    /// Sessions belong to this context (OpenSSL refuses a session of another on either side).
    static let sessionContext = Array("pointmesh-gossip".utf8)
    /// The identity's bytes, where OpenSSL may read them for as long as the key lives.
    let identityBytes: UnsafeMutableBufferPointer<UInt8>
    let key: [UInt8]

    init(clusterKey: [UInt8]) {
        key = HMACSHA256.mac(key: clusterKey, Array("pointmesh-tls-external-psk".utf8))
        identityBytes = .allocate(capacity: Self.identity.count)
        _ = identityBytes.initialize(from: Self.identity)
    }

    deinit { identityBytes.deallocate() }

    /// A session holding the key, for TLS_AES_128_GCM_SHA256 (a SHA-256 suite, as the key's length asks).
    func session(for ssl: OpaquePointer) -> OpaquePointer? {
        let suite: [UInt8] = [0x13, 0x01]
        guard let cipher = SSL_CIPHER_find(ssl, suite), let session = SSL_SESSION_new() else { return nil }
        guard SSL_SESSION_set1_master_key(session, key, key.count) == 1, SSL_SESSION_set_cipher(session, cipher) == 1,
              SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) == 1,
              SSL_SESSION_set1_id_context(session, Self.sessionContext, UInt32(Self.sessionContext.count)) == 1
        else {
            SSL_SESSION_free(session)
            return nil
        }
        return session
    }

    static func of(_ ssl: OpaquePointer?) -> PresharedKey? {
        guard let ssl, let context = SSL_get_SSL_CTX(ssl), let raw = SSL_CTX_get_ex_data(context, 0) else { return nil }
        return Unmanaged<PresharedKey>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// A client's offer of the pre-shared key.
private func offerPresharedKey(_ ssl: OpaquePointer?, _ digest: OpaquePointer?, _ identity: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
                               _ identityLength: UnsafeMutablePointer<Int>?, _ session: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let key = PresharedKey.of(ssl), let ssl, let made = key.session(for: ssl) else {
        session?.pointee = nil
        return 1
    }
    // After a HelloRetryRequest OpenSSL asks again with the suite's digest: ours is SHA-256.
    if let digest, EVP_MD_get_type(digest) != NID_sha256 {
        SSL_SESSION_free(made)
        session?.pointee = nil
        return 1
    }
    identity?.pointee = UnsafePointer(key.identityBytes.baseAddress)
    identityLength?.pointee = key.identityBytes.count
    session?.pointee = made
    return 1
}

/// A server's look-up of the identity a client offered: the cluster key's, or none (the
/// handshake then goes on with certificates).
private func findPresharedKey(_ ssl: OpaquePointer?, _ identity: UnsafePointer<UInt8>?, _ identityLength: Int,
                              _ session: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    session?.pointee = nil
    guard let key = PresharedKey.of(ssl), let ssl, let identity,
          identityLength == PresharedKey.identity.count,
          Array(UnsafeBufferPointer(start: identity, count: identityLength)) == PresharedKey.identity
    else { return 1 }
    session?.pointee = key.session(for: ssl)
    return 1
}
