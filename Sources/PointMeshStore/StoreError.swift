/// Why the store could not open or serve.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    /// The database was written by a newer PointMesh.
    case schemaTooNew(found: Int, known: Int)
    /// The database was written by an older PointMesh and has not been upgraded yet, which
    /// only a node's start does (`serve`); a read-only open can't read it.
    case schemaTooOld(found: Int, known: Int)
    /// Two migrations share a name: the build is wrong, and nothing was run.
    case duplicateMigration(String)
    /// The data directory belongs to another node than `--node-id` names.
    case nodeIDMismatch(stored: String, requested: String)
    /// A stored row does not decode: the file was damaged or edited by hand.
    case corruptRow(String)
    /// The store is shutting down and takes no more writes.
    case closed
    /// Another live process holds the data directory's lock.
    case directoryInUse(String, pid: Int32?)
    /// The data directory can't be created or opened (it names a file, or permissions).
    case cannotOpenDirectory(String, String)

    public var description: String {
        switch self {
        case .schemaTooNew(let found, let known):
            "database schema version \(found) is newer than this pointmesh knows (\(known)); upgrade pointmesh"
        case .schemaTooOld(let found, let known):
            "database schema version \(found) is from an older pointmesh (this one upgrades to \(known) when a node starts on it); "
                + "start `pointmesh serve` on it once, or use the release that wrote it"
        case .duplicateMigration(let name):
            "two schema migrations are named '\(name)'; this build of pointmesh is broken, and the database was left as it was"
        case .nodeIDMismatch(let stored, let requested):
            "data directory belongs to node '\(stored)', but --node-id says '\(requested)'"
        case .corruptRow(let detail):
            "corrupt row in the ledger: \(detail)"
        case .closed:
            "the store is closed"
        case .directoryInUse(let directory, let pid):
            "data directory \(directory) is in use by another pointmesh process"
                + (pid.map { " (PID \($0))" } ?? "") + "; stop it first, or give this node its own --data"
        case .cannotOpenDirectory(let directory, let reason):
            "cannot use \(directory) as the data directory: \(reason)"
        }
    }
}
