import Dispatch
import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshHTTP
import PointMeshNode

/// `pointmesh serve`: runs a node until SIGTERM or SIGINT.
enum ServeCommand: Command {
    static let name = "serve"
    static let summary = "run a node"
    static let usage = """
        Usage: pointmesh serve [--config FILE] [--node-id ID] [--data DIR] [--http HOST:PORT]
                               [--gossip HOST:PORT] [--seed HOST:PORT]... [--cluster-key-file FILE]
                               [--role store|hq] [--return-window-days N]
                               [--transfer-cooling-off-days N]
                               [--tokens-file FILE] [--protect-reads]
                               [--log-format json|text] [--log-level LEVEL]

        Runs a PointMesh node. Prints `pointmesh ready node=<id> http=<host:port> gossip=<host:port>`
        on standard output when it serves; logs go to standard error. SIGTERM or SIGINT stop it
        cleanly (exit 0).

          --config FILE            JSON object with any of these options, named without dashes
                                   ("node-id", "data", "http", ...); flags win over the file
          --node-id ID             this node's id; default: generated on first start and kept in
                                   the data directory (a different id later is an error)
          --data DIR               data directory (default ./pointmesh-data)
          --http HOST:PORT         HTTP API address (default 127.0.0.1:8080; port 0 picks one)
          --gossip HOST:PORT       gossip address (default 127.0.0.1:7070; port 0 picks one)
          --seed HOST:PORT         a peer's gossip address to join through; repeatable
          --cluster-key-file FILE  file holding the cluster's shared key
          --role store|hq          what this node is for (default store)
          --http-request-timeout-ms N  time a request may take to arrive whole (default 10000)
          --http-idle-timeout-ms N     idle keep-alive connection lifetime (default 30000)
          --max-connections N          concurrent HTTP connections (default 512)
          --gossip-interval-ms N       time between gossip rounds (default 1000)
          --gossip-fanout N            peers contacted per round (default 2)
          --tokens-file FILE       bearer tokens the HTTP API accepts: a JSON list of
                                   {"name", "role": clerk|hq|admin, "token_sha256"}, readable
                                   by its owner only (`pointmesh token create` makes entries).
                                   Required to serve HTTP beyond loopback
          --protect-reads          status, metrics and /openapi.json need a token too
          --log-format json|text   standard error: one JSON object per line (default), or
                                   human-readable lines for a terminal
          --log-level LEVEL        debug (adds a line per HTTP request), info (default),
                                   warning or error
          --return-window-days N       points a purchase earns stay pending (not spendable)
                                       for N days, and a refund inside that window cancels
                                       them instead of making debt (default 0: off)
          --transfer-cooling-off-days N  a transfer stands only if both customers have been
                                       members of the family for N days (default 30; 0: off).
                                       Set it alike on every node of a chain: each transfer
                                       records the period it was decided under
          --clock-offset-file FILE     for tests and expiry rehearsals: the node's wall clock is
                                       the system clock plus the milliseconds in FILE, read at
                                       each use (never on a production node)
          --exit-with-parent       stop cleanly when the process that started it exits (tests
                                   and benchmarks start nodes with it, so a crashed run leaves
                                   no node behind)
        """
    static let valued: Set<String> = [
        "config", "node-id", "data", "http", "gossip", "seed", "cluster-key-file", "role",
        "http-request-timeout-ms", "http-idle-timeout-ms", "max-connections", "gossip-interval-ms", "gossip-fanout",
        "return-window-days", "transfer-cooling-off-days", "clock-offset-file", "tokens-file", "log-format", "log-level",
    ]
    static let switches: Set<String> = ["protect-reads", "exit-with-parent"]
    static let repeatable: Set<String> = ["seed"]

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
        let parentWatch = options["exit-with-parent"] == nil ? nil : watchParent(log: log) { stopRequested.signal() }
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
    static func logger(_ options: [String: [String]], clock: NodeClock) throws(UsageError) -> Logger {
        let formatName = options["log-format"]?.last ?? "json", levelName = options["log-level"]?.last ?? "info"
        guard let format = Logger.Format(rawValue: formatName) else { throw UsageError(message: "--log-format must be json or text, got '\(formatName)'") }
        guard let level = Logger.Level(rawValue: levelName) else {
            throw UsageError(message: "--log-level must be debug, info, warning or error, got '\(levelName)'")
        }
        return Logger.standardError(format: format, minimum: level, clock: clock)
    }

    static func mergedOptions(_ arguments: CommandLineArguments) throws -> [String: [String]] {
        var options: [String: [String]] = [:]
        if let path = arguments.value("config") {
            options = try ConfigFile.load(path: path, allowed: valued.union(switches).subtracting(["config"]))
        }
        for (name, values) in arguments.values where name != "config" {
            options[name] = values
        }
        for name in switches where arguments.has(name) { options[name] = ["true"] }
        return options
    }

    static func configuration(from options: [String: [String]]) throws(UsageError) -> NodeConfiguration {
        var configuration = NodeConfiguration()
        func address(_ name: String) throws(UsageError) -> HostPort? {
            guard let text = options[name]?.last else { return nil }
            guard let address = HostPort(parsing: text) else { throw UsageError(message: "--\(name) must be HOST:PORT, got '\(text)'") }
            return address
        }
        func milliseconds(_ name: String) throws(UsageError) -> Int64? {
            guard let text = options[name]?.last else { return nil }
            guard let value = Int64(text), value > 0 else { throw UsageError(message: "--\(name) must be a positive integer") }
            return value
        }
        if let id = options["node-id"]?.last {
            do { configuration.nodeID = try NodeID(validating: id) } catch {
                throw UsageError(message: "--node-id '\(id)' is not a valid id (1-128 of A-Z a-z 0-9 . _ : -)")
            }
        }
        if let data = options["data"]?.last { configuration.dataDirectory = data }
        if let http = try address("http") { configuration.http = http }
        if let gossip = try address("gossip") { configuration.gossip = gossip }
        for seed in options["seed"] ?? [] {
            guard let address = HostPort(parsing: seed) else { throw UsageError(message: "--seed must be HOST:PORT, got '\(seed)'") }
            configuration.seeds.append(address)
        }
        configuration.clusterKeyFile = options["cluster-key-file"]?.last
        if let role = options["role"]?.last {
            guard let parsed = NodeRole(rawValue: role) else { throw UsageError(message: "--role must be store or hq, got '\(role)'") }
            configuration.role = parsed
        }
        if let value = try milliseconds("http-request-timeout-ms") { configuration.httpTimeouts.requestMilliseconds = value }
        if let value = try milliseconds("http-idle-timeout-ms") { configuration.httpTimeouts.idleMilliseconds = value }
        if let value = try milliseconds("max-connections") { configuration.maximumConnections = Int(value) }
        if let value = try milliseconds("gossip-interval-ms") { configuration.gossipSettings.intervalMilliseconds = value }
        if let value = try milliseconds("gossip-fanout") { configuration.gossipSettings.fanout = Int(value) }
        if let text = options["return-window-days"]?.last {
            guard let days = Int64(text), (0...NodeConfiguration.maximumReturnWindowDays).contains(days) else {
                throw UsageError(message: "--return-window-days must be a whole number of days from 0 to \(NodeConfiguration.maximumReturnWindowDays), got '\(text)'")
            }
            configuration.returnWindowDays = days
        }
        if let text = options["transfer-cooling-off-days"]?.last {
            guard let days = Int64(text), (0...NodeConfiguration.maximumTransferCoolingOffDays).contains(days) else {
                throw UsageError(message: "--transfer-cooling-off-days must be a whole number of days from 0 to \(NodeConfiguration.maximumTransferCoolingOffDays), got '\(text)'")
            }
            configuration.transferCoolingOffDays = days
        }
        if let file = options["clock-offset-file"]?.last { configuration.clock = .system(offsetFile: file) }
        configuration.tokensFile = options["tokens-file"]?.last
        switch options["protect-reads"]?.last {
        case nil, "false", "0": configuration.protectReads = false
        case "true", "1": configuration.protectReads = true
        case let other?: throw UsageError(message: "protect-reads must be true or false, got '\(other)'")
        }
        configuration.gossipSettings.exchanges = try exchanges(ProcessInfo.processInfo.environment["POINTMESH_TEST_EXCHANGES"])
        return configuration
    }

    /// The gossip exchanges a node speaks: the standard ones, and for tests of negotiation the
    /// comma-separated names in `POINTMESH_TEST_EXCHANGES` (`probe`) after them. Not an option:
    /// no store runs a test-only exchange.
    static func exchanges(_ names: String?) throws(UsageError) -> [GossipExchangeName] {
        var exchanges = GossipExchangeName.standard
        for name in (names ?? "").split(separator: ",") {
            guard let exchange = GossipExchangeName(rawValue: String(name)) else {
                throw UsageError(message: "POINTMESH_TEST_EXCHANGES names '\(name)', not an exchange (\(GossipExchangeName.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !exchanges.contains(exchange) { exchanges.append(exchange) }
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
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw UsageError(message: "config file \(path) is not a JSON object")
        }
        var options: [String: [String]] = [:]
        for (key, value) in object {
            guard allowed.contains(key) else { throw UsageError(message: "config file \(path): unknown option '\(key)'") }
            switch value {
            case let text as String: options[key] = [text]
            case let list as [String]: options[key] = list
            case let number as NSNumber: options[key] = [number.stringValue]
            default: throw UsageError(message: "config file \(path): '\(key)' must be a string")
            }
        }
        return options
    }
}
