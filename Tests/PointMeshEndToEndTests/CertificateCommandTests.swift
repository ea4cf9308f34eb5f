import Foundation
import PointMeshTLS
import Testing

/// `pointmesh tls init-ca` and `tls issue` (issue 29, item 1): the chain's authority and node
/// certificates naming the node id and role, keys 0600, nothing overwritten.
@Suite struct CertificateCommandTests {
    private func mode(_ path: String) -> Int? { (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int }
    private func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func anAuthorityIssuesNodeCertificatesNamingIdAndRole() throws {
        let directory = NodeProcess.scratchDirectory(), nodes = directory + "/nodes"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try runPointmesh(["tls", "init-ca", "--dir", directory])
        #expect(made.status == 0 && made.stdout.contains("ca.pem"), "\(made.stdout)\(made.stderr)")
        #expect(mode(directory + "/ca.key") == 0o600 && mode(directory + "/ca.pem") == 0o644)
        let again = try runPointmesh(["tls", "init-ca", "--dir", directory])
        #expect(again.status == 1 && again.stderr.contains("exists: not overwriting"), "\(again.stderr)")

        for (id, role) in [("st1", "store"), ("hq", "hq")] {
            let issued = try runPointmesh(["tls", "issue", "--dir", directory, "--node-id", id, "--role", role, "--out", nodes])
            #expect(issued.status == 0, "\(issued.stdout)\(issued.stderr)")
            #expect(mode(nodes + "/\(id).key") == 0o600)
            let facts = try ChainCertificates.facts(of: try read(nodes + "/\(id).pem"), authorityPEM: try read(directory + "/ca.pem"))
            #expect(facts.nodeID == id && facts.role == role, "\(facts)")
            let days = (Double(facts.notAfter) - Date().timeIntervalSince1970) / 86_400
            #expect((396...397.1).contains(days), "valid \(days) days")
        }
        // Another chain's authority did not sign them.
        let foreign = try ChainCertificates.makeAuthority(name: "elsewhere", days: 10)
        #expect(throws: CertificateError.mismatch("the certificate is not signed by this authority")) {
            try ChainCertificates.facts(of: try read(nodes + "/st1.pem"), authorityPEM: foreign.certificatePEM)
        }
        // What openssl makes of them, where the machine has it.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") {
            let verified = try runProgram(URL(fileURLWithPath: "/usr/bin/openssl"), ["verify", "-CAfile", directory + "/ca.pem", nodes + "/st1.pem"])
            #expect(verified.status == 0 && verified.stdout.contains("OK"), "\(verified.stdout)\(verified.stderr)")
        }

        let badRole = try runPointmesh(["tls", "issue", "--dir", directory, "--node-id", "x", "--role", "till"])
        #expect(badRole.status == 2 && badRole.stderr.contains("--role must be store or hq"))
        let noAuthority = try runPointmesh(["tls", "issue", "--dir", nodes, "--node-id", "x", "--role", "store"])
        #expect(noAuthority.status == 2 && noAuthority.stderr.contains("tls init-ca"), "\(noAuthority.stderr)")
        let garbage = directory + "/bad"
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try "not a certificate".write(toFile: garbage + "/ca.pem", atomically: true, encoding: .utf8)
        try "not a key".write(toFile: garbage + "/ca.key", atomically: true, encoding: .utf8)
        let unreadable = try runPointmesh(["tls", "issue", "--dir", garbage, "--node-id", "x", "--role", "store"])
        #expect(unreadable.status == 1 && unreadable.stderr.contains("not a PEM certificate"), "\(unreadable.stderr)")
    }
}
