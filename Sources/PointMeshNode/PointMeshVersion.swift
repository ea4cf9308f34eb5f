/// This build's release, printed by `pointmesh --version` and shown in `GET /v1/status` so an
/// operator upgrading stores one at a time can see which run what.
public enum PointMeshVersion {
    public static let current = "0.9.0"
}
