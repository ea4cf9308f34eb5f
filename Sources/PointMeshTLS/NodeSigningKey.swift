import CLibSSL
import Foundation
import PointMeshCrypto
import Synchronization

/// The private key of a node certificate, for signing what the node vouches for (its entries'
/// seals): ECDSA P-256 over SHA-256, through libcrypto.
public final class NodeSigningKey: @unchecked Sendable {
    // An EVP_PKEY is safe to use from several threads for signing once loaded; nothing changes it.
    private let key: OpaquePointer
    /// The certificate's DER bytes.
    public let certificate: [UInt8]

    /// The key and certificate of `files` (PEM), which must belong together.
    public init(files: CertificateFiles) throws(CertificateError) {
        guard let certificatePEM = try? String(contentsOfFile: files.certificate, encoding: .utf8) else { throw .unreadable(files.certificate) }
        guard let keyPEM = try? String(contentsOfFile: files.key, encoding: .utf8) else { throw .unreadable(files.key) }
        let certificate = try ChainCertificates.readCertificate(certificatePEM)
        defer { X509_free(certificate) }
        let key = try ChainCertificates.readKey(keyPEM)
        guard X509_check_private_key(certificate, key) == 1 else {
            EVP_PKEY_free(key)
            throw .mismatch("the key in \(files.key) is not the certificate's in \(files.certificate)")
        }
        self.key = key
        self.certificate = ChainCertificates.der(of: certificate)
    }

    deinit { EVP_PKEY_free(key) }

    /// A DER-encoded ECDSA signature over `message`.
    public func sign(_ message: [UInt8]) throws(CertificateError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw ChainCertificates.failure("make a signing context") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { throw ChainCertificates.failure("start a signature") }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { throw ChainCertificates.failure("size a signature") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else { throw ChainCertificates.failure("sign") }
        return Array(signature.prefix(length))
    }
}

/// Checks signatures by node certificates against the chain's authority (`--tls-ca`):
/// certificates in DER, as they travel with what they signed. Each is read once and kept, by
/// its SHA-256.
public final class AuthorityVerifier: @unchecked Sendable {
    // Only read after init; libcrypto's X509 and EVP_PKEY may be used from several threads.
    private let authority: OpaquePointer
    /// Each certificate met, or nil when the authority did not sign it.
    private let known = Mutex<[[UInt8]: ReadCertificate?]>([:])

    /// A certificate the authority signed: its public key and what it says.
    private final class ReadCertificate: @unchecked Sendable {
        let key: OpaquePointer
        let facts: NodeCertificateFacts

        init(key: OpaquePointer, facts: NodeCertificateFacts) {
            self.key = key
            self.facts = facts
        }

        deinit { EVP_PKEY_free(key) }
    }

    /// The authority in the PEM file at `path`.
    public init(authorityFile path: String) throws(CertificateError) {
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadable(path) }
        authority = try ChainCertificates.readCertificate(pem)
    }

    deinit { X509_free(authority) }

    /// What `certificate` (DER) says, if the authority signed it (whatever its dates).
    public func facts(of certificate: [UInt8]) -> NodeCertificateFacts? {
        read(certificate)?.facts
    }

    /// Whether `signature` (DER ECDSA) over `message` was made with the key of `certificate`,
    /// one the authority signed.
    public func verifies(signature: [UInt8], over message: [UInt8], certificate: [UInt8]) -> Bool {
        guard let read = read(certificate), let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, read.key) == 1 else { return false }
        return withExtendedLifetime(read) { EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1 }
    }

    private func read(_ certificate: [UInt8]) -> ReadCertificate? {
        let fingerprint = SHA256Digest.bytes(of: certificate)
        if let found = known.withLock({ $0[fingerprint] }) { return found }
        let parsed = parse(certificate)
        known.withLock { $0[fingerprint] = .some(parsed) }
        return parsed
    }

    private func parse(_ certificate: [UInt8]) -> ReadCertificate? {
        defer { ERR_clear_error() }
        let x509: OpaquePointer? = certificate.withUnsafeBufferPointer { buffer in
            var start = buffer.baseAddress
            return d2i_X509(nil, &start, buffer.count)
        }
        guard let x509 else { return nil }
        defer { X509_free(x509) }
        guard let authorityKey = X509_get0_pubkey(authority), X509_verify(x509, authorityKey) == 1,
              let key = X509_get_pubkey(x509) else { return nil }
        return ReadCertificate(key: key, facts: ChainCertificates.facts(of: x509))
    }
}
