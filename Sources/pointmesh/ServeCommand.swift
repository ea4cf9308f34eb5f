import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshJSON
import PointMeshCore
import PointMeshReplication
import PointMeshHTTP
import PointMeshNode
import PointMeshTLS

/// `pointmesh serve`: runs a node until SIGTERM or SIGINT.
enum ServeCommand: Command {
    static let name = "serve"
    static let summary = "run a node"
    static let config = Option("config", .value("FILE"), "JSON object with any of these options, named without dashes (\"node-id\", \"data\", ...); flags win over the file")
    static let nodeID = Option("node-id", .value("ID"), "this node's id; default: generated on first start and kept in the data directory (a different id later is an error)")
    static let data = Option("data", .value("DIR"), "data directory (default ./pointmesh-data)")
    static let http = Option("http", .value("HOST:PORT"), "HTTP API address (default 127.0.0.1:8080; port 0 picks one)")
    static let gossip = Option("gossip", .value("HOST:PORT"), "gossip address (default 127.0.0.1:7070; port 0 picks one)")
    static let seed = Option("seed", .values("HOST:PORT"), "a peer's gossip address to join through")
    static let clusterKeyFile = Option("cluster-key-file", .value("FILE"), "file holding the cluster's shared key")
    static let tlsCert = Option("tls-cert", .value("FILE"), "this node's certificate (PEM, from `pointmesh tls issue`): gossip then proves who the node is; give --tls-key and --tls-ca with it")
    static let tlsKey = Option("tls-key", .value("FILE"), "the private key of --tls-cert (PEM)")
    static let tlsCA = Option("tls-ca", .value("FILE"), "the chain authority's certificate (ca.pem): peers' certificates must be signed by it")
    static let acceptUnsealedEntries = Option("accept-unsealed-entries", "a node on certificates alone while some nodes still hold only --cluster-key-file: take the unsealed entries of origins that have shown no certificate, on the word of the peer that sends them (without it, only entries their origin's seal covers)")
    static let acceptUnencryptedGossip = Option("accept-unencrypted-gossip", "while a chain upgrades from a release before 0.8: also gossip with its nodes in their unencrypted frames, authenticated by --cluster-key-file (refused without it: gossip is TLS only)")
    static let role = Option("role", .value("store|hq"), "what this node is for (default store; a store's node refuses what only HQ may write)")
    static let httpRequestTimeout = Option("http-request-timeout-ms", .value("N"), "time a request may take to arrive whole (default 10000)")
    static let httpIdleTimeout = Option("http-idle-timeout-ms", .value("N"), "idle keep-alive connection lifetime (default 30000)")
    static let maxConnections = Option("max-connections", .value("N"), "concurrent HTTP connections (default 512)")
    static let gossipInterval = Option("gossip-interval-ms", .value("N"), "time between gossip rounds (default 1000)")
    static let holdingsReportInterval = Option("holdings-report-interval-ms", .value("N"), "how often a node that wrote or received tells the chain what it holds, from which every node computes the stable horizon (default 3600000; a quiet node every six times it)")
    static let gossipFanout = Option("gossip-fanout", .value("N"), "peers contacted per round (default 2)")
    static let tokensFile = Option("tokens-file", .value("FILE"), "bearer tokens the HTTP API accepts: a JSON list of {\"name\", \"role\": clerk|hq|admin, \"token_sha256\"}, readable by its owner only (`pointmesh token create` makes entries). Required to serve HTTP beyond loopback")
    static let protectReads = Option("protect-reads", "status, metrics and /openapi.json need a token too")
    static let httpInsecure = Option("http-insecure", "serve HTTP beyond loopback in clear, tokens and all (a node with --tokens-file refuses to without it or HTTPS)")
    static let httpTLSCert = Option("http-tls-cert", .value("FILE"), "serve the API over HTTPS with this certificate (PEM; it must name the host tills use, e.g. `pointmesh tls issue --host`); give --http-tls-key with it")
    static let httpTLSKey = Option("http-tls-key", .value("FILE"), "the private key of --http-tls-cert (PEM)")
    static let logFormat = Option("log-format", .value("json|text"), "standard error: one JSON object per line (default), or human-readable lines for a terminal")
    static let logLevel = Option("log-level", .value("LEVEL"), "debug (adds a line per HTTP request), info (default), warning or error")
    static let returnWindowDays = Option("return-window-days", .value("N"), "points a purchase earns stay pending (not spendable) for N days, and a refund inside that window cancels them instead of making debt (default 0: off)")
    static let transferCoolingOffDays = Option("transfer-cooling-off-days", .value("N"), "a transfer stands only if both customers have been members of the family for N days (default 30; 0: off). Set it alike on every node of a chain: each transfer records the period it was decided under")
    static let clockOffsetFile = Option("clock-offset-file", .value("FILE"), "for tests and expiry rehearsals: the node's wall clock is the system clock plus the milliseconds in FILE, read at each use (never on a production node)")
    static let exitWithParent = Option("exit-with-parent", "stop cleanly when the process that started it exits (tests and benchmarks start nodes with it, so a crashed run leaves no node behind)")
    static let spendingRights = Option("spending-rights", .value("on|off"), "debits (redemptions, transfers, deductions, refund clawbacks) are decided within the spending rights this node holds, asking the holders for the rest, so cut-off stores never spend the same points (default on; off only while a chain upgrades from 0.7: docs/operations.md, \"Upgrading\")")
    static let rightsWait = Option("rights-wait-ms", .value("N"), "how long a debit short of rights here waits for the holders' grants before it is refused with 409 insufficient_points_offline (default 500)")
    static let offlineAllowance = Option("offline-allowance", .value("N"), "points this node may overspend on one account when the holders of its spending rights don't answer in time, recorded as an overdraft later earnings repay first (default 0: none)")
    static let offlineAllowanceCap = Option("offline-allowance-cap", .value("N"), "the most this node may have overdrawn across all accounts at once (default 50 times --offline-allowance)")
    static let offlineAllowanceHours = Option("offline-allowance-hours", .value("H"), "after H hours without hearing from any peer (or none since it started), the node overspends nothing (default 72)")
    static let options = [config, nodeID, data, http, gossip, seed, clusterKeyFile, tlsCert, tlsKey, tlsCA, acceptUnencryptedGossip, acceptUnsealedEntries, role, httpRequestTimeout, httpIdleTimeout, maxConnections, gossipInterval, gossipFanout, holdingsReportInterval, tokensFile, protectReads, httpInsecure, httpTLSCert, httpTLSKey, logFormat, logLevel, returnWindowDays, transferCoolingOffDays, spendingRights, rightsWait, offlineAllowance, offlineAllowanceCap, offlineAllowanceHours, clockOffsetFile, exitWithParent]
    static let description = """
        Runs a PointMesh node. Prints `pointmesh ready node=<id> http=<host:port> gossip=<host:port>`
        on standard output when it serves; logs go to standard error. SIGTERM or SIGINT stop it
        cleanly (exit 0); SIGHUP reloads the certificate files (--tls-cert, --tls-key,
        --http-tls-cert, --http-tls-key).
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let options = try mergedOptions(arguments)
        let configuration = try configuration(from: options)
        signal(SIGPIPE, SIG_IGN)
        let log = try logger(options, clock: configuration.clock)
        let node: PointMeshNode
        do {
            node = try PointMeshNode(configuration: configuration, log: log)
        } catch {
            log.error("cannot start: \(error)")
            return 1
        }
        let stopRequested = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            sources.append(source)
        }
        signal(SIGHUP, SIG_IGN)
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        reload.setEventHandler { node.reloadCredentials() }
        reload.resume()
        sources.append(reload)
        let parentWatch = options.last(exitWithParent) == nil ? nil : watchParent(log: log) { stopRequested.signal() }
        node.start()
        FileHandle.standardOutput.write(Data((node.readyLine + "\n").utf8))
        stopRequested.wait()
        node.stop()
        sources.forEach { $0.cancel() }
        parentWatch?.cancel()
        return 0
    }

    /// Calls `stop` once this process's parent has exited (it is then another process's
    /// child), checking every second.
    static func watchParent(log: Logger, stop: @escaping @Sendable () -> Void) -> any DispatchSourceTimer {
        let parent = getppid()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler {
            guard getppid() != parent else { return }
            log.warning("the process that started this node (pid \(parent)) exited; stopping (--exit-with-parent)")
            timer.cancel()
            stop()
        }
        timer.resume()
        return timer
    }

    /// Flag values over config-file values, as one name → values map.
    /// `--log-format json|text` (default json) and `--log-level debug|info|warning|error` (default info).
    static func logger(_ options: GivenOptions, clock: NodeClock) throws(UsageError) -> Logger {
        let formatName = options.last(logFormat) ?? "json", levelName = options.last(logLevel) ?? "info"
        guard let format = Logger.Format(rawValue: formatName) else { throw UsageError(message: "--log-format must be json or text, got '\(formatName)'") }
        guard let level = Logger.Level(rawValue: levelName) else {
            throw UsageError(message: "--log-level must be debug, info, warning or error, got '\(levelName)'")
        }
        return Logger.standardError(format: format, minimum: level, clock: clock)
    }

    /// The options given on the command line over those of the `--config` file.
    static func mergedOptions(_ arguments: CommandLineArguments) throws -> GivenOptions {
        var options: [String: [String]] = [:]
        if let path = arguments.value(config) {
            options = try ConfigFile.load(path: path, allowed: Set(Self.options.map(\.name)).subtracting([config.name]))
        }
        for (name, values) in arguments.given where name != config.name {
            options[name] = values.isEmpty ? ["true"] : values
        }
        return GivenOptions(values: options)
    }

    /// Option values by declaration, wherever they were given.
    struct GivenOptions {
        let values: [String: [String]]
        func last(_ option: Option) -> String? { values[option.name]?.last }
        func all(_ option: Option) -> [String] { values[option.name] ?? [] }
    }

    static func configuration(from options: GivenOptions) throws(UsageError) -> NodeConfiguration {
        var configuration = NodeConfiguration()
        func address(_ option: Option) throws(UsageError) -> HostPort? {
            guard let text = options.last(option) else { return nil }
            guard let address = HostPort(parsing: text) else { throw UsageError(message: "--\(option.name) must be HOST:PORT, got '\(text)'") }
            return address
        }
        func milliseconds(_ option: Option) throws(UsageError) -> Int64? {
            guard let text = options.last(option) else { return nil }
            guard let value = Int64(text), value > 0 else { throw UsageError(message: "--\(option.name) must be a positive integer") }
            return value
        }
        if let id = options.last(nodeID) {
            do { configuration.nodeID = try NodeID(validating: id) } catch {
                throw UsageError(message: "--node-id '\(id)' is not a valid id (1-128 of A-Z a-z 0-9 . _ : -)")
            }
        }
        if let data = options.last(data) { configuration.dataDirectory = data }
        if let http = try address(http) { configuration.http = http }
        if let gossip = try address(gossip) { configuration.gossip = gossip }
        for seed in options.all(seed) {
            guard let address = HostPort(parsing: seed) else { throw UsageError(message: "--seed must be HOST:PORT, got '\(seed)'") }
            configuration.seeds.append(address)
        }
        configuration.clusterKeyFile = options.last(clusterKeyFile)
        switch (options.last(httpTLSCert), options.last(httpTLSKey)) {
        case (nil, nil): break
        case (let certificate?, let key?): configuration.httpsFiles = (certificate, key)
        default: throw UsageError(message: "--http-tls-cert and --http-tls-key go together: the API's certificate and its key")
        }
        switch (options.last(tlsCert), options.last(tlsKey), options.last(tlsCA)) {
        case (nil, nil, nil):
            break
        case (let certificate?, let key?, let authority?):
            configuration.certificateFiles = CertificateFiles(certificate: certificate, key: key, authority: authority)
        default:
            throw UsageError(message: "--tls-cert, --tls-key and --tls-ca go together: the node's certificate, its key and the chain's authority")
        }
        if let role = options.last(role) {
            guard let parsed = NodeRole(rawValue: role) else { throw UsageError(message: "--role must be store or hq, got '\(role)'") }
            configuration.role = parsed
        }
        if let value = try milliseconds(httpRequestTimeout) { configuration.httpTimeouts.requestMilliseconds = value }
        if let value = try milliseconds(httpIdleTimeout) { configuration.httpTimeouts.idleMilliseconds = value }
        if let value = try milliseconds(maxConnections) { configuration.maximumConnections = Int(value) }
        if let value = try milliseconds(gossipInterval) { configuration.gossipSettings.intervalMilliseconds = value }
        if let value = try milliseconds(gossipFanout) { configuration.gossipSettings.fanout = Int(value) }
        if let value = try milliseconds(holdingsReportInterval) {
            configuration.gossipSettings.membership.reportMilliseconds = max(1, value)
            configuration.gossipSettings.membership.quietReportMilliseconds = 6 * max(1, value)
        }
        if let text = options.last(returnWindowDays) {
            guard let days = Int64(text), (0...NodeConfiguration.maximumReturnWindowDays).contains(days) else {
                throw UsageError(message: "--return-window-days must be a whole number of days from 0 to \(NodeConfiguration.maximumReturnWindowDays), got '\(text)'")
            }
            configuration.returnWindowDays = days
        }
        if let text = options.last(transferCoolingOffDays) {
            guard let days = Int64(text), (0...NodeConfiguration.maximumTransferCoolingOffDays).contains(days) else {
                throw UsageError(message: "--transfer-cooling-off-days must be a whole number of days from 0 to \(NodeConfiguration.maximumTransferCoolingOffDays), got '\(text)'")
            }
            configuration.transferCoolingOffDays = days
        }
        switch options.last(spendingRights) {
        case nil, "on": configuration.spendingRights = true
        case "off": configuration.spendingRights = false
        case let other?: throw UsageError(message: "--spending-rights must be on or off, got '\(other)'")
        }
        if let text = options.last(rightsWait) {
            guard let wait = Int64(text), (0...NodeConfiguration.maximumRightsWaitMilliseconds).contains(wait) else {
                throw UsageError(message: "--rights-wait-ms must be a whole number of milliseconds from 0 to \(NodeConfiguration.maximumRightsWaitMilliseconds), got '\(text)'")
            }
            configuration.rightsWaitMilliseconds = wait
        }
        func number(_ option: Option, upTo maximum: Int64) throws(UsageError) -> Int64? {
            guard let text = options.last(option) else { return nil }
            guard let value = Int64(text), (0...maximum).contains(value) else {
                throw UsageError(message: "--\(option.name) must be a whole number from 0 to \(maximum), got '\(text)'")
            }
            return value
        }
        if let points = try number(offlineAllowance, upTo: Limits.maximumPoints.value) { configuration.offlineAllowance = points }
        configuration.offlineAllowanceCap = try number(offlineAllowanceCap, upTo: Limits.maximumPoints.value)
        if let hours = try number(offlineAllowanceHours, upTo: 24 * 365) { configuration.offlineAllowanceHours = hours }
        if let file = options.last(clockOffsetFile) { configuration.clock = .system(offsetFile: file) }
        configuration.tokensFile = options.last(tokensFile)
        /// A switch: given on the command line, or true or false in the config file.
        func flag(_ option: Option) throws(UsageError) -> Bool {
            switch options.last(option) {
            case nil, "false", "0": return false
            case "true", "1": return true
            case let other?: throw UsageError(message: "\(option.name) must be true or false, got '\(other)'")
            }
        }
        configuration.protectReads = try flag(protectReads)
        configuration.httpInsecure = try flag(httpInsecure)
        configuration.acceptUnencryptedGossip = try flag(acceptUnencryptedGossip)
        configuration.acceptUnsealedEntries = try flag(acceptUnsealedEntries)
        configuration.gossipSettings.exchanges = try exchanges(ProcessInfo.processInfo.environment["POINTMESH_TEST_EXCHANGES"])
        configuration.forgesOutOfRoleForTests = ProcessInfo.processInfo.environment["POINTMESH_TEST_FORGE_OUT_OF_ROLE"] == "1"
        configuration.gossipSettings.altersRelayedForTests = ProcessInfo.processInfo.environment["POINTMESH_TEST_ALTER_RELAYED"] == "1"
        return configuration
    }

    /// The gossip exchanges a node speaks: the standard ones, and for tests of negotiation the
    /// comma-separated names in `POINTMESH_TEST_EXCHANGES` (`probe`) after them. Not an option:
    /// no store runs a test-only exchange.
    /// The exchanges `POINTMESH_TEST_EXCHANGES` gives: the standard ones, plus each name listed,
    /// less each listed with a leading `-` (a node of a release without it, for tests).
    static func exchanges(_ names: String?) throws(UsageError) -> [GossipExchangeName] {
        var exchanges = GossipExchangeName.standard
        for name in (names ?? "").split(separator: ",") {
            let removing = name.hasPrefix("-")
            guard let exchange = GossipExchangeName(rawValue: String(removing ? name.dropFirst() : name)) else {
                throw UsageError(message: "POINTMESH_TEST_EXCHANGES names '\(name)', not an exchange (\(GossipExchangeName.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if removing { exchanges.removeAll { $0 == exchange } } else if !exchanges.contains(exchange) { exchanges.append(exchange) }
        }
        return exchanges
    }
}

/// The `--config` JSON file: an object whose keys are option names without dashes.
enum ConfigFile {
    static func load(path: String, allowed: Set<String>) throws -> [String: [String]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError(message: "cannot read config file \(path)")
        }
        // Editors on some systems start a UTF-8 file with a byte-order mark.
        var bytes = Array(data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            guard case .invalid(let why) = error else { throw UsageError(message: "config file \(path) is not JSON") }
            throw UsageError(message: "config file \(path) is not JSON: \(why)")
        }
        guard let object = value.objectValue else { throw UsageError(message: "config file \(path) is not a JSON object") }
        var options: [String: [String]] = [:]
        for (key, value) in object {
            guard allowed.contains(key) else { throw UsageError(message: "config file \(path): unknown option '\(key)'") }
            switch value {
            case .string(let text): options[key] = [text]
            case .integer(let number): options[key] = [String(number)]
            case .number(let number) where number.rounded() == number && number.magnitude < 1e15: options[key] = [String(Int64(number))]
            // A switch: given as on the command line, or not given.
            case .bool(let on): if on { options[key] = ["true"] }
            case .array(let list) where list.allSatisfy({ $0.stringValue != nil }): options[key] = list.compactMap(\.stringValue)
            default: throw UsageError(message: "config file \(path): '\(key)' must be a string, a whole number, true or false, or a list of strings")
            }
        }
        return options
    }
}
