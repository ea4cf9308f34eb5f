import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshTLS

/// `pointmesh tls init-ca` and `pointmesh tls issue`: the chain's own certificate authority and
/// the node certificates it signs (docs/operations.md, "Node certificates").
enum TLSCommand: Command {
    static let name = "tls"
    static let summary = "make the chain's certificate authority and sign node certificates"
    static let directory = Option("dir", .value("DIR"), required: true, "where the authority's files are (init-ca writes them there; issue reads them)")
    static let out = Option("out", .value("DIR"), "where issue writes the node's files (default --dir)")
    static let nodeID = Option("node-id", .value("ID"), "the node the certificate names (issue)")
    static let role = Option("role", .value("store|hq"), "what the node is for (issue)")
    static let host = Option("host", .values("NAME"), "a host name or IP address the certificate also names, for HTTPS (issue; repeatable): tills and curl check the address they dial against it")
    static let days = Option("days", .value("N"), "how long the certificate is valid (default 3650 for the authority, 397 for a node)")
    static let options: [Option] = [directory, out, nodeID, role, host, days]
    static let forms = ["init-ca --dir DIR [--days N]", "issue --dir DIR --node-id ID --role store|hq [--host NAME]... [--out DIR] [--days N]"]
    static let description = """
        init-ca makes the chain's certificate authority: ca.pem (the certificate every node
        trusts) and ca.key (its private key: keep it off the stores, at HQ or offline). issue
        signs a certificate for one node: ID.pem and ID.key, naming the node id and its role, so
        a peer learns both from the authority's signature, not from the node. ECDSA P-256 keys
        and SHA-256 signatures, through libcrypto. Keys are written 0600; no file is ever
        overwritten.
        """
    static let positionals = 1

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let directory = try arguments.required(Self.directory)
        switch arguments.positional.first {
        case "init-ca":
            let days = try arguments.integer(Self.days) ?? 3_650
            guard (1...36_500).contains(days) else { throw UsageError(message: "--days must be 1 to 36500, got \(days)") }
            let authority = try ChainCertificates.makeAuthority(name: "PointMesh chain authority", days: Int(days))
            try write(authority, named: "ca", in: directory)
            print("wrote \(directory)/ca.pem (give it to every node) and \(directory)/ca.key (keep it at HQ or offline), valid \(days) days")
        case "issue":
            guard let id = arguments.value(Self.nodeID), (try? IdentifierError.check(id)) != nil else {
                throw UsageError(message: "--node-id must be 1-128 of A-Z a-z 0-9 . _ : -")
            }
            guard let role = arguments.value(Self.role), NodeRole(rawValue: role) != nil else { throw UsageError(message: "--role must be store or hq") }
            let days = try arguments.integer(Self.days) ?? 397
            guard (1...36_500).contains(days) else { throw UsageError(message: "--days must be 1 to 36500, got \(days)") }
            let authority: CertifiedKey
            do {
                authority = CertifiedKey(certificatePEM: try String(contentsOfFile: directory + "/ca.pem", encoding: .utf8),
                                         keyPEM: try String(contentsOfFile: directory + "/ca.key", encoding: .utf8))
            } catch {
                throw UsageError(message: "no authority in \(directory) (ca.pem and ca.key): run `pointmesh tls init-ca --dir \(directory)` first")
            }
            let out = arguments.value(Self.out) ?? directory
            let issued: CertifiedKey
            do {
                issued = try ChainCertificates.issue(nodeID: id, role: role, days: Int(days), hosts: arguments.all(Self.host), authority: authority)
            } catch {
                throw FileFailure(message: "the authority in \(directory) (ca.pem, ca.key): \(error)")
            }
            try write(issued, named: id, in: out)
            print("wrote \(out)/\(id).pem and \(out)/\(id).key for node \(id) (\(role)), valid \(days) days")
        default:
            throw UsageError(message: "say `tls init-ca` or `tls issue`")
        }
        return ExitStatus.success
    }

    /// A file that could not be written (or exists already).
    struct FileFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Writes NAME.pem (0644) and NAME.key (0600), refusing to replace either.
    private static func write(_ certified: CertifiedKey, named name: String, in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (file, text, mode) in [(name + ".key", certified.keyPEM, 0o600), (name + ".pem", certified.certificatePEM, 0o644)] as [(String, String, Int)] {
            let path = directory + "/" + file
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode))
            guard descriptor >= 0 else {
                throw FileFailure(message: errno == EEXIST ? "\(path) exists: not overwriting it" : "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            let bytes = Array(text.utf8)
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == bytes.count, synced else { throw FileFailure(message: "cannot write \(path)") }
        }
    }
}
