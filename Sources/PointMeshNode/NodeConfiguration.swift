import PointMeshCore
import PointMeshHTTP
import PointMeshTLS

/// Everything `pointmesh serve` needs to start a node, after flags and the config file are merged.
public struct NodeConfiguration: Sendable {
    public var nodeID: NodeID?
    public var dataDirectory = "./pointmesh-data"
    public var http = HostPort(host: "127.0.0.1", port: 8080)
    public var gossip = HostPort(host: "127.0.0.1", port: 7070)
    public var seeds: [HostPort] = []
    public var clusterKeyFile: String?
    /// `--tls-cert`, `--tls-key`, `--tls-ca`: the node's certificate from the chain's authority,
    /// its key and the authority's certificate. Gossip then proves who each node is; with
    /// `clusterKeyFile` too, the node also takes peers that hold only the key (a chain moving
    /// to certificates, docs/operations.md).
    public var certificateFiles: CertificateFiles?
    /// `--accept-unencrypted-gossip`: while a chain upgrades from a release before 0.8, also
    /// gossip with its nodes in their unencrypted frames, authenticated by the cluster key.
    public var acceptUnencryptedGossip = false
    /// `--accept-unsealed-entries`: a node on certificates alone, in a chain where some nodes
    /// still hold only the cluster key, takes the unsealed entries of origins that have shown no
    /// certificate on the word of the peer that sends them (`SealPolicy.Requirement`).
    public var acceptUnsealedEntries = false
    /// Tests only (`POINTMESH_TEST_FORGE_OUT_OF_ROLE=1`): the API writes the kinds this node's
    /// role may not originate, as a compromised store would.
    public var forgesOutOfRoleForTests = false
    /// `--http-tls-cert`, `--http-tls-key`: serve the API over HTTPS with this certificate and
    /// key (PEM); the certificate must name the host tills reach the node by.
    public var httpsFiles: (certificate: String, key: String)?
    public var role = NodeRole.store
    public var httpTimeouts = ConnectionTimeouts()
    public var maximumConnections = 512
    public var gossipSettings = GossipSettings()
    /// Days a purchase's points stay pending (`--return-window-days`); 0 turns it off.
    public var returnWindowDays: Int64 = 0
    /// Days both parties to a transfer must have been members of its family
    /// (`--transfer-cooling-off-days`); 0 turns it off.
    public var transferCoolingOffDays: Int64 = 30
    /// The node's one clock (`--clock-offset-file` shifts its wall time, for tests).
    public var clock = NodeClock.system()
    /// `--tokens-file`: the bearer tokens the HTTP API accepts; without it the API is open and
    /// the node serves HTTP on loopback only.
    public var tokensFile: String?
    /// `--protect-reads`: status, metrics and the API description need a token too.
    public var protectReads = false
    /// `--http-insecure`: serve the API beyond loopback in clear, tokens and all. Without it (or
    /// HTTPS) a node with tokens refuses to start on a non-loopback HTTP address: a till's
    /// token would cross the store's LAN readable by anyone on it.
    public var httpInsecure = false
    /// `--spending-rights`: debits are decided within the rights this node holds
    /// (`NodeSettings.spendingRights`). Off only while a chain upgrades from a release without
    /// them (docs/operations.md, "Upgrading").
    public var spendingRights = true
    /// `--rights-wait-ms`: how long a debit short of rights here waits for the holders' grants
    /// before it is refused (409 `insufficient_points_offline`).
    public var rightsWaitMilliseconds: Int64 = 500

    /// `--offline-allowance`: points a node may overspend on one account when the holders of its
    /// rights don't answer (0: none); `--offline-allowance-cap`: the most it may have overdrawn
    /// across accounts at once (default 50 times the allowance); `--offline-allowance-hours`:
    /// it overspends nothing once it has not heard from the cluster for this long.
    public var offlineAllowance: Int64 = 0
    public var offlineAllowanceCap: Int64?
    public var offlineAllowanceHours: Int64 = 72

    /// The longest wait for rights a node accepts.
    public static let maximumRightsWaitMilliseconds: Int64 = 10_000

    /// The longest return window a node accepts.
    public static let maximumReturnWindowDays: Int64 = 365
    /// The longest cooling-off period a node accepts.
    public static let maximumTransferCoolingOffDays: Int64 = 365

    /// The settings the rules read, in milliseconds.
    public var settings: NodeSettings {
        NodeSettings(returnWindow: returnWindowDays * CivilCalendar.millisecondsPerDay,
                     transferCoolingOff: transferCoolingOffDays * CivilCalendar.millisecondsPerDay, spendingRights: spendingRights)
    }

    public init() {}
}
