import PointMeshCore
import PointMeshCrypto

/// Gossip frames on a byte stream:
///
///     u32 length | u8 version | u8 type | payload | [32-byte MAC once authenticated]
///
/// `length` counts every byte after itself. `version` is the protocol version: the handshake's
/// frames carry `handshakeVersion` (2, the first version that negotiates, forever), later
/// frames the version the handshake agreed (`use(version:)`). A frame over
/// `maximumFrameBytes`, of another version, with a MAC that does not verify or a payload that
/// does not decode is a `FrameError`, and the connection is closed with nothing of the frame
/// applied.
public struct FrameCodec: Sendable {
    public static let handshakeVersion: UInt8 = 2
    public static let maximumFrameBytes = 8 * 1024 * 1024
    /// The version frames are sent and expected in.
    public private(set) var version = FrameCodec.handshakeVersion

    public enum FrameError: Error, Equatable, Sendable {
        case tooLarge(Int)
        case unsupportedVersion(UInt8)
        case badMAC
        case malformed(DecodingError)
    }

    /// Which way this side sends, so a frame can't be reflected back to its sender.
    private let sendDirection: UInt8
    private var sessionKey: [UInt8]?
    private var sent: UInt64 = 0
    private var received: UInt64 = 0
    private var buffer: [UInt8] = []

    public init(role: Handshake.Role) {
        sendDirection = role == .initiator ? 0 : 1
    }

    /// From now on frames are sent and expected in `version`.
    public mutating func use(version: UInt8) { self.version = version }

    /// From now on every frame carries and must carry a MAC under `key`.
    public mutating func authenticate(with key: [UInt8]) { sessionKey = key }

    public mutating func encode(_ message: GossipMessage) -> [UInt8] {
        let payload = message.payload()
        var body: [UInt8] = [version, message.typeCode]
        body.append(contentsOf: payload)
        if let sessionKey {
            body.append(contentsOf: frameMAC(key: sessionKey, direction: sendDirection, counter: sent, body: body))
            sent += 1
        }
        var writer = BinaryWriter()
        writer.u32(UInt32(body.count))
        writer.raw(body)
        return writer.bytes
    }

    public mutating func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    /// Bytes received but not yet decoded into a frame.
    public var buffered: Int { buffer.count }

    /// The next complete message, or nil when more bytes are needed.
    public mutating func next() throws(FrameError) -> GossipMessage? {
        guard buffer.count >= 4 else { return nil }
        let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
        guard length <= Self.maximumFrameBytes else { throw .tooLarge(length) }
        guard length >= 2 else { throw .malformed(.truncated) }
        guard buffer.count >= 4 + length else { return nil }
        var body = Array(buffer[4..<(4 + length)])
        buffer.removeFirst(4 + length)
        guard body[0] == version else { throw .unsupportedVersion(body[0]) }
        if let sessionKey {
            guard body.count >= 2 + HMACSHA256.length else { throw .badMAC }
            let mac = Array(body.suffix(HMACSHA256.length))
            body.removeLast(HMACSHA256.length)
            guard HMACSHA256.equal(mac, frameMAC(key: sessionKey, direction: 1 - sendDirection, counter: received, body: body)) else {
                throw .badMAC
            }
            received += 1
        }
        do {
            return try GossipMessage.decode(type: body[1], payload: Array(body[2...]))
        } catch {
            throw .malformed(error)
        }
    }

    private func frameMAC(key: [UInt8], direction: UInt8, counter: UInt64, body: [UInt8]) -> [UInt8] {
        var prefix = BinaryWriter()
        prefix.u8(direction)
        prefix.i64(Int64(bitPattern: counter))
        return HMACSHA256.mac(key: key, prefix.bytes, body)
    }
}
