import Foundation
import PointMeshCore
import PointMeshCrypto
import PointMeshJSON

/// The bearer tokens a node accepts (`--tokens-file`): a JSON list of
/// `{"name", "role", "token_sha256"}`. Only hashes are kept, in the file and in memory; a
/// presented token is hashed and compared with every entry in constant time.
public struct AccessTokens: Sendable {
    /// One token the node accepts.
    public struct Entry: Sendable {
        public var name: String
        public var role: Role
        var hash: [UInt8]
    }

    public let entries: [Entry]

    /// Why a tokens file is refused at start (never a silent fallback to no tokens).
    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(String)
        case worldReadable(String)
        case malformed(String, String)
        case duplicateName(String, String)
        case duplicateToken(String, String, String)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read tokens file \(path)"
            case .worldReadable(let path): "tokens file \(path) is readable by every user; make it private (chmod 600 \(path))"
            case .malformed(let path, let why): "tokens file \(path) is malformed: \(why)"
            case .duplicateName(let path, let name): "tokens file \(path) names '\(name)' twice; every token needs its own name"
            case .duplicateToken(let path, let first, let second):
                "tokens file \(path) gives '\(first)' and '\(second)' the same token_sha256; every name needs its own token (which would the node read?)"
            }
        }
    }

    init(entries: [Entry]) {
        self.entries = entries
    }

    /// Reads and checks the file: private to its owner, a JSON list of entries with a valid
    /// name (an id), a role and a 64-digit SHA-256 hex, each name once.
    public static func load(path: String) throws(LoadError) -> AccessTokens {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let data = FileManager.default.contents(atPath: path)
        else { throw .unreadable(path) }
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o004 != 0 { throw .worldReadable(path) }
        let list: [JSONValue]
        do {
            guard case .array(let items) = try JSONParser.parse(Array(data)) else { throw LoadError.malformed(path, "not a JSON list") }
            list = items
        } catch let error as LoadError {
            throw error
        } catch {
            throw .malformed(path, "\(error)")
        }
        var entries: [Entry] = [], names: Set<String> = []
        for (index, item) in list.enumerated() {
            guard case .object(let fields) = item, Set(fields.keys) == ["name", "role", "token_sha256"],
                  case .string(let name)? = fields["name"], (try? IdentifierError.check(name)) != nil,
                  case .string(let roleName)? = fields["role"], let role = Role(rawValue: roleName),
                  case .string(let hex)? = fields["token_sha256"], let hash = RequestHash(hex: hex.lowercased())
            else {
                throw .malformed(path, "entry \(index + 1) must be {\"name\": id, \"role\": clerk|hq|admin, \"token_sha256\": 64 hex digits} and nothing else")
            }
            guard names.insert(name).inserted else { throw .duplicateName(path, name) }
            if let same = entries.first(where: { $0.hash == hash.bytes }) { throw .duplicateToken(path, same.name, name) }
            entries.append(Entry(name: name, role: role, hash: hash.bytes))
        }
        return AccessTokens(entries: entries)
    }

    /// The entry whose hash matches `token`, comparing against every entry in constant time so
    /// timing says nothing about which hash came close.
    public func authenticate(_ token: String) -> Entry? {
        let presented = SHA256Digest.bytes(of: Array(token.utf8))
        var found: Entry?
        for entry in entries {
            let matches = HMACSHA256.equal(entry.hash, presented)
            if matches, found == nil { found = entry }
        }
        return found
    }

    /// A new random token (32 bytes, hex) and its hash, for `pointmesh token create`.
    public static func newToken() -> (token: String, sha256: String) {
        let token = "pmt_" + SHA256Digest.hex(SecureRandom.bytes(32))
        return (token, SHA256Digest.hex(of: Array(token.utf8)))
    }
}
