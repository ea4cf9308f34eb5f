/// What a node is for: a store's node, or HQ's aggregating node.
public enum NodeRole: String, Sendable, CaseIterable {
    case store
    case hq
}
