import CLibSSL
#if canImport(Glibc)
import Glibc
#endif

/// Why a certificate or key could not be made or read.
public enum CertificateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libcrypto refused a step; `step` names it, `reason` is OpenSSL's.
    case libcrypto(step: String, reason: String)
    /// The PEM text holds no certificate or key of the expected kind.
    case unreadable(String)
    /// A certificate not signed by the chain's authority, or a key that is not the certificate's.
    case mismatch(String)
    /// A `--host` that is neither a host name nor an IP address.
    case invalidHost(String)

    public var description: String {
        switch self {
        case .libcrypto(let step, let reason): "libcrypto could not \(step): \(reason)"
        case .unreadable(let what): "\(what) is not a PEM certificate or key this program reads"
        case .mismatch(let why): why
        case .invalidHost(let host): "'\(host)' is neither a host name nor an IP address"
        }
    }
}

/// A certificate and its private key, both PEM.
public struct CertifiedKey: Sendable {
    public let certificatePEM: String
    public let keyPEM: String

    public init(certificatePEM: String, keyPEM: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }
}

/// What a node certificate says: the node id (subject CN), its role (subject OU), and until when.
public struct NodeCertificateFacts: Hashable, Sendable {
    public let nodeID: String
    public let role: String
    /// Seconds since the epoch.
    public let notAfter: Int64
    /// The certificate itself (DER), as seals name it by its hash: what checks a peer's holdings
    /// reports before any entry of its has brought its certificate.
    public let der: [UInt8]
}

/// The chain's own certificate authority and the node certificates it issues (`pointmesh tls
/// init-ca`, `pointmesh tls issue`), through libcrypto: ECDSA P-256 keys, SHA-256 signatures,
/// X.509 v3. A node certificate names the node id as its subject's common name and its role
/// (store or hq) as its organisational unit, so a peer learns both from the certificate the
/// authority signed, not from what the node says of itself.
public enum ChainCertificates {
    /// A new authority valid for `days`, its certificate self-signed.
    public static func makeAuthority(name: String, days: Int) throws(CertificateError) -> CertifiedKey {
        let key = try newKey()
        defer { EVP_PKEY_free(key) }
        let certificate = try build(subject: [("O", "PointMesh chain"), ("CN", name)], publicKey: key, days: days,
                                    extensions: [(NID_basic_constraints, "critical,CA:TRUE"), (NID_key_usage, "critical,keyCertSign,cRLSign")],
                                    issuer: nil, signingKey: key)
        defer { X509_free(certificate) }
        return CertifiedKey(certificatePEM: try pem(certificate: certificate), keyPEM: try pem(key: key))
    }

    /// A certificate for node `nodeID` with `role`, valid for `days`, signed by `authority`;
    /// `hosts` (DNS names or IP addresses) become its subject alternative names, so HTTPS
    /// clients dialling one of them accept it.
    public static func issue(nodeID: String, role: String, days: Int, hosts: [String] = [], authority: CertifiedKey) throws(CertificateError) -> CertifiedKey {
        let issuer = try readCertificate(authority.certificatePEM)
        defer { X509_free(issuer) }
        let issuerKey = try readKey(authority.keyPEM)
        defer { EVP_PKEY_free(issuerKey) }
        guard X509_check_private_key(issuer, issuerKey) == 1 else { throw .mismatch("the authority's key is not its certificate's") }
        let key = try newKey()
        defer { EVP_PKEY_free(key) }
        var extensions = [(NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature"),
                          (NID_ext_key_usage, "serverAuth,clientAuth")]
        if !hosts.isEmpty {
            for host in hosts where !isIPAddress(host) && !isHostName(host) { throw .invalidHost(host) }
            extensions.append((NID_subject_alt_name, hosts.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")))
        }
        let certificate = try build(subject: [("O", "PointMesh chain"), ("OU", role), ("CN", nodeID)], publicKey: key, days: days,
                                    extensions: extensions,
                                    issuer: issuer, signingKey: issuerKey)
        defer { X509_free(certificate) }
        return CertifiedKey(certificatePEM: try pem(certificate: certificate), keyPEM: try pem(key: key))
    }

    /// What `certificatePEM` says, once it checks out as signed by the authority in
    /// `authorityPEM`.
    public static func facts(of certificatePEM: String, authorityPEM: String) throws(CertificateError) -> NodeCertificateFacts {
        let certificate = try readCertificate(certificatePEM)
        defer { X509_free(certificate) }
        let authority = try readCertificate(authorityPEM)
        defer { X509_free(authority) }
        guard let authorityKey = X509_get0_pubkey(authority), X509_verify(certificate, authorityKey) == 1 else {
            throw .mismatch("the certificate is not signed by this authority")
        }
        return facts(of: certificate)
    }

    /// What a certificate already verified says.
    static func facts(of certificate: OpaquePointer) -> NodeCertificateFacts {
        let subject = X509_get_subject_name(certificate)
        var seconds: Int64 = 0
        var tm = tm()
        if let notAfter = X509_get0_notAfter(certificate), ASN1_TIME_to_tm(notAfter, &tm) == 1 { seconds = Int64(timegm(&tm)) }
        return NodeCertificateFacts(nodeID: entry(NID_commonName, of: subject), role: entry(NID_organizationalUnitName, of: subject), notAfter: seconds,
                                    der: der(of: certificate))
    }

    private static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    // MARK: libcrypto steps

    private static func newKey() throws(CertificateError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw failure("make a key context") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
              EVP_PKEY_generate(context, &key) == 1, let key else { throw failure("generate a P-256 key") }
        return key
    }

    private static func build(subject: [(String, String)], publicKey: OpaquePointer, days: Int, extensions: [(Int32, String)],
                              issuer: OpaquePointer?, signingKey: OpaquePointer) throws(CertificateError) -> OpaquePointer {
        guard let certificate = X509_new() else { throw failure("make a certificate") }
        var serial: UInt64 = 0
        withUnsafeMutableBytes(of: &serial) { _ = RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), 8) }
        let name = X509_get_subject_name(certificate)
        var ok = X509_set_version(certificate, 2) == 1
            && ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate), serial >> 1) == 1
            && X509_gmtime_adj(X509_getm_notBefore(certificate), -300) != nil
            && X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86_400) != nil
            && X509_set_pubkey(certificate, publicKey) == 1
        for (field, value) in subject where ok {
            ok = X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, value, -1, -1, 0) == 1
        }
        ok = ok && X509_set_issuer_name(certificate, issuer.map { X509_get_subject_name($0) } ?? name) == 1
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions where ok {
            guard let made = X509V3_EXT_conf_nid(nil, &context, nid, value) else { ok = false; break }
            ok = X509_add_ext(certificate, made, -1) == 1
            X509_EXTENSION_free(made)
        }
        guard ok, X509_sign(certificate, signingKey, EVP_sha256()) > 0 else {
            X509_free(certificate)
            throw failure("build and sign the certificate")
        }
        return certificate
    }

    private static func pem(certificate: OpaquePointer) throws(CertificateError) -> String {
        try written { PEM_write_bio_X509($0, certificate) == 1 }
    }

    private static func pem(key: OpaquePointer) throws(CertificateError) -> String {
        try written { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) == 1 }
    }

    private static func written(_ write: (OpaquePointer) -> Bool) throws(CertificateError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("make a memory buffer") }
        defer { BIO_free(bio) }
        guard write(bio) else { throw failure("write PEM") }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
        return String(decoding: bytes.prefix(max(0, Int(read))), as: UTF8.self)
    }

    private static func reading<T>(_ text: String, _ read: (OpaquePointer) -> T?) throws(CertificateError) -> T {
        let bytes = Array(text.utf8)
        let result: T? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return read(bio)
        }
        ERR_clear_error()
        guard let result else { throw .unreadable("the text") }
        return result
    }

    static func readCertificate(_ text: String) throws(CertificateError) -> OpaquePointer {
        try reading(text) { PEM_read_bio_X509($0, nil, nil, nil) }
    }

    static func readKey(_ text: String) throws(CertificateError) -> OpaquePointer {
        try reading(text) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
    }

    /// The certificate's DER bytes.
    static func der(of certificate: OpaquePointer) -> [UInt8] {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var start = buffer.baseAddress
            _ = i2d_X509(certificate, &start)
        }
        return bytes
    }

    private static func entry(_ nid: Int32, of name: OpaquePointer?) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = X509_NAME_get_text_by_NID(name, nid, &buffer, Int32(buffer.count))
        return count > 0 ? String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    /// The failure of `step`, with libcrypto's reason (its error queue emptied).
    static func failure(_ step: String) -> CertificateError {
        var buffer = [CChar](repeating: 0, count: 256)
        let code = ERR_get_error()
        ERR_clear_error()
        if code != 0 { ERR_error_string_n(code, &buffer, buffer.count) }
        let reason = code == 0 ? "no reason given" : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .libcrypto(step: step, reason: reason)
    }
}
