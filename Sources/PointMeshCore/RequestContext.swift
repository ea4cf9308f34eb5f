/// Who is asking, of which node, and when: handed to every read and write so the rules can
/// check permissions, freezes and time windows in the core rather than at the edge.
public struct RequestContext: Hashable, Sendable {
    /// The caller's identity: the token's name once access control exists; empty until then.
    public var caller: String
    /// The node deciding the request (the origin of any entry it writes).
    public var node: NodeID
    /// Physical time in milliseconds since the epoch, as the node's clock read it.
    public var now: Int64
    /// The id the edge gave the request, for logs and for the client to quote.
    public var requestID: String
    /// This node's return window in milliseconds (`--return-window-days`): points a purchase
    /// earns stay pending this long. Zero, the default, makes them spendable at once.
    public var returnWindow: Int64

    public init(caller: String = "", node: NodeID, now: Int64, requestID: String = "", returnWindow: Int64 = 0) {
        self.caller = caller
        self.node = node
        self.now = now
        self.requestID = requestID
        self.returnWindow = returnWindow
    }
}
