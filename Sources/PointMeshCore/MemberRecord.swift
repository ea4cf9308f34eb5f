/// A node as membership gossip describes it.
public struct MemberRecord: Hashable, Sendable {
    public var id: NodeID
    /// The node's gossip address, `host:port`.
    public var address: String
    public var retired: Bool

    public init(id: NodeID, address: String, retired: Bool = false) {
        self.id = id
        self.address = address
        self.retired = retired
    }
}
