/// What a node is for: a store's node, or HQ's aggregating node (`pointmesh serve --role`).
/// Some entries only HQ may originate (`EntryKindRule.originators`).
public enum NodeRole: String, Sendable, CaseIterable {
    case store
    case hq

    /// Every role: what most kinds and routes allow.
    public static let any = Set(allCases)
    /// HQ's node only: the chain's definitions and its actions on customers.
    public static let headquartersOnly: Set<NodeRole> = [.hq]
}
