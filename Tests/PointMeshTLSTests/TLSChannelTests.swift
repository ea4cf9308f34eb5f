import Foundation
import PointMeshTLS
import Testing

/// The TLS edge over a socket pair: whom each side's credentials let through, what each learns
/// of the other, and what crosses. Certificates come from `ChainCertificates`, written to a
/// temporary directory per test.
@Suite struct TLSChannelTests {
    let directory: String
    let authority: CertifiedKey

    init() throws {
        directory = NSTemporaryDirectory() + "pointmesh-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        authority = try ChainCertificates.makeAuthority(name: "test chain", days: 30)
        try authority.certificatePEM.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
    }

    /// Files for a certificate naming `node`, signed by `by` (the test's authority by default).
    func files(_ node: String, role: String = "store", days: Int = 30, by signer: CertifiedKey? = nil) throws -> CertificateFiles {
        let issued = try ChainCertificates.issue(nodeID: node, role: role, days: days, authority: signer ?? authority)
        let base = directory + "/" + node + "-" + UUID().uuidString
        try issued.certificatePEM.write(toFile: base + ".pem", atomically: true, encoding: .utf8)
        try issued.keyPEM.write(toFile: base + ".key", atomically: true, encoding: .utf8)
        return CertificateFiles(certificate: base + ".pem", key: base + ".key", authority: directory + "/ca.pem")
    }

    static let key = Array("a cluster key of some length".utf8)

    @Test func twoNodesHoldingTheClusterKeyTalkWithoutCertificates() throws {
        let (client, server) = try Self.handshake(client: TLSContext(clusterKey: Self.key, files: nil), server: TLSContext(clusterKey: Self.key, files: nil))
        let (c, s) = (try client.get(), try server.get())
        #expect(c.usedPresharedKey && s.usedPresharedKey)
        #expect(c.peer == nil && s.peer == nil)
        #expect(c.exportedKey(label: "EXPORTER-test") == s.exportedKey(label: "EXPORTER-test"))
        try c.write(Array("hello".utf8))
        #expect(try s.read(waitingAtMost: 2_000) == Array("hello".utf8))
        #expect(try s.read(waitingAtMost: 50) == nil)
    }

    @Test func anotherClusterKeyIsRefused() throws {
        let (client, server) = try Self.handshake(client: TLSContext(clusterKey: Self.key, files: nil),
                                                  server: TLSContext(clusterKey: Array("another key of some length".utf8), files: nil))
        #expect(throws: TLSError.self) { try client.get() }
        #expect(throws: TLSError.self) { try server.get() }
    }

    @Test func certificatesNameEachSideToTheOther() throws {
        let (client, server) = try Self.handshake(client: TLSContext(clusterKey: nil, files: files("store-1")),
                                                  server: TLSContext(clusterKey: nil, files: files("hq", role: "hq")))
        let (c, s) = (try client.get(), try server.get())
        #expect(!c.usedPresharedKey)
        #expect(c.peer?.nodeID == "hq" && c.peer?.role == "hq")
        #expect(s.peer?.nodeID == "store-1" && s.peer?.role == "store")
        try s.write(Array("over certificates".utf8))
        #expect(try c.read(waitingAtMost: 2_000) == Array("over certificates".utf8))
    }

    @Test func aForeignAuthoritysCertificateIsRefused() throws {
        let foreign = try ChainCertificates.makeAuthority(name: "another chain", days: 30)
        let (client, server) = try Self.handshake(client: TLSContext(clusterKey: nil, files: files("intruder", by: foreign, authorityFromSigner: foreign)),
                                                  server: TLSContext(clusterKey: nil, files: files("hq", role: "hq")))
        #expect(throws: TLSError.self) { try server.get() }
        #expect(throws: TLSError.self) { try client.get() }
    }

    @Test func anExpiredCertificateIsRefused() throws {
        let expired = try files("store-old", days: 0)
        sleep(2)
        #expect(throws: TLSError.self) { try TLSContext(clusterKey: nil, files: expired) }
    }

    @Test func aNodeWithTheKeyOnlyCannotReachANodeWithCertificatesOnly() throws {
        let (client, server) = try Self.handshake(client: TLSContext(clusterKey: Self.key, files: nil),
                                                  server: TLSContext(clusterKey: nil, files: files("hq", role: "hq")))
        #expect(throws: TLSError.self) { try client.get() }
        #expect(throws: TLSError.self) { try server.get() }
    }

    /// A chain moving to certificates: a node holding both talks to one with the key alone (by
    /// the key) and to one with certificates alone (by certificates).
    @Test func aNodeWithBothTalksToEither() throws {
        let both = try TLSContext(clusterKey: Self.key, files: files("store-2"))
        let byKey = try Self.handshake(client: both, server: TLSContext(clusterKey: Self.key, files: nil))
        #expect(try byKey.client.get().usedPresharedKey)
        #expect(try byKey.server.get().usedPresharedKey)
        let byCertificate = try Self.handshake(client: both, server: TLSContext(clusterKey: nil, files: files("hq", role: "hq")))
        #expect(try byCertificate.server.get().peer?.nodeID == "store-2")
        #expect(try byCertificate.client.get().peer?.nodeID == "hq")
        let asServer = try Self.handshake(client: TLSContext(clusterKey: nil, files: files("store-3")), server: both)
        #expect(try asServer.server.get().peer?.nodeID == "store-3")
    }

    @Test func plainBytesWhereAHandshakeBelongsAreRefusedAsSuch() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let frame: [UInt8] = [0, 0, 0, 40, 2, 1]
        #expect(write(fds[0], frame, frame.count) == frame.count)
        #expect(throws: TLSError.plainPeer) { try TLSChannel(context: TLSContext(clusterKey: Self.key, files: nil), fd: fds[1], role: .server, timeoutMilliseconds: 1_000) }
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefusedAtStart() throws {
        let one = try files("store-4"), other = try files("store-5")
        let mixed = CertificateFiles(certificate: one.certificate, key: other.key, authority: one.authority)
        #expect(throws: TLSError.self) { try TLSContext(clusterKey: nil, files: mixed) }
    }

    /// A peer that never answers the handshake is a timeout, not an authentication failure (it
    /// once read as "the peer holds another cluster key").
    @Test func aSilentPeerTimesOutTheHandshake() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(throws: TLSError.timedOut) {
            try TLSChannel(context: TLSContext(clusterKey: Self.key, files: nil), fd: fds[0], role: .client, timeoutMilliseconds: 200)
        }
    }

    /// Writing to a connection the peer has closed ends in `.closed`: no SIGPIPE kills the
    /// process (OpenSSL writes with write(2)), and no "broken" error reads as an attack.
    @Test func writingToAClosedPeerIsAClose() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]) }
        let serverFD = fds[1]
        let server = try TLSContext(clusterKey: Self.key, files: nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            // Handshake, then hang up.
            _ = try? TLSChannel(context: server, fd: serverFD, role: .server, timeoutMilliseconds: 2_000)
            close(serverFD)
            done.signal()
        }.start()
        let client = try TLSChannel(context: TLSContext(clusterKey: Self.key, files: nil), fd: fds[0], role: .client, timeoutMilliseconds: 2_000)
        done.wait()
        var outcome: TLSError?
        for _ in 0..<64 {
            do { try client.write([UInt8](repeating: 7, count: 65_536)) } catch { outcome = error; break }
        }
        #expect(outcome == .closed)
    }

    /// Runs a handshake between `client` and `server` over a socket pair, the server on a thread
    /// of its own; returns each side's channel or failure.
    static func handshake(client: TLSContext, server: TLSContext) -> (client: Result<TLSChannel, TLSError>, server: Result<TLSChannel, TLSError>) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let serverFD = fds[1]
        let serverSide = ServerSide()
        let thread = Thread {
            let result = Result { () throws(TLSError) -> TLSChannel in try TLSChannel(context: server, fd: serverFD, role: .server, timeoutMilliseconds: 2_000) }
            if case .failure = result { shutdown(serverFD, Int32(SHUT_RDWR)) }
            serverSide.result = result
            serverSide.done.signal()
        }
        thread.start()
        let clientSide = Result { () throws(TLSError) -> TLSChannel in try TLSChannel(context: client, fd: fds[0], role: .client, timeoutMilliseconds: 2_000) }
        if case .failure = clientSide { shutdown(fds[0], Int32(SHUT_RDWR)) }
        serverSide.done.wait()
        return (clientSide, serverSide.result!)
    }
}

/// The server thread's outcome, read once `done` is signalled.
private final class ServerSide: @unchecked Sendable {
    var result: Result<TLSChannel, TLSError>?
    let done = DispatchSemaphore(value: 0)
}

extension TLSChannelTests {
    /// Files for `node` signed by `signer`, trusting `signer` as the authority too (a node of another chain).
    func files(_ node: String, by signer: CertifiedKey, authorityFromSigner: CertifiedKey) throws -> CertificateFiles {
        var made = try files(node, by: signer)
        made.authority = directory + "/foreign-ca-\(UUID().uuidString).pem"
        try authorityFromSigner.certificatePEM.write(toFile: made.authority, atomically: true, encoding: .utf8)
        return made
    }
}
