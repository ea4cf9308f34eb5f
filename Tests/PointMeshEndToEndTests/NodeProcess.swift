import Foundation
import PointMeshCore
import PointMeshHTTP
import PointMeshNode
import Testing

/// A real `pointmesh` process started by a test, on free ports, stopped by PID at the end.
final class NodeProcess {
    let process = Process()
    let dataDirectory: String
    let logPath: String
    private(set) var httpAddress = HostPort(host: "127.0.0.1", port: 0)
    private(set) var gossipAddress = HostPort(host: "127.0.0.1", port: 0)
    private(set) var readyLine = ""
    /// How the test reaches a node in a namespace.
    private var relay: NamespaceRelay?

    /// The `pointmesh` binary built beside the test bundle.
    static var binary: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("pointmesh").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("pointmesh")
    }

    static func scratchDirectory() -> String {
        NSTemporaryDirectory() + "pointmesh-e2e-\(UUID().uuidString)"
    }

    /// Starts `pointmesh serve` on `dataDirectory` with ports 0 and waits for the ready line.
    /// `environment` is added to this process's. In `namespace` (one the test made,
    /// `LinkedNamespaces`) it gossips on `gossipHost` and serves HTTP on the namespace's
    /// loopback, which the test reaches through a `NamespaceRelay`; `ip netns exec` becomes the
    /// node itself, so its PID is the node's. `httpHost` is where it serves HTTP (the test
    /// still talks to it over loopback).
    init(dataDirectory: String = NodeProcess.scratchDirectory(), extraArguments: [String] = [], gossipPort: UInt16 = 0,
         environment: [String: String] = [:], namespace: String? = nil, gossipHost: String = "127.0.0.1", httpHost: String = "127.0.0.1") throws {
        self.dataDirectory = dataDirectory
        logPath = dataDirectory + ".log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let serve = ["serve", "--data", dataDirectory, "--http", "\(httpHost):0", "--gossip", "\(gossipHost):\(gossipPort)", "--exit-with-parent"] + extraArguments
        if let namespace {
            process.executableURL = URL(fileURLWithPath: LinkedNamespaces.ip)
            process.arguments = ["netns", "exec", namespace, Self.binary.path] + serve
        } else {
            process.executableURL = Self.binary
            process.arguments = serve
        }
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        readyLine = Self.firstLine(of: output, before: Date().addingTimeInterval(30))
        guard let field = readyLine.split(separator: " ").first(where: { $0.hasPrefix("http=") }),
              let address = HostPort(parsing: String(field.dropFirst(5)))
        else {
            kill(SIGKILL)
            throw NodeProcessError.notReady(readyLine + "\n" + log)
        }
        httpAddress = address
        if let namespace {
            relay = try NamespaceRelay(namespace: namespace, port: address.port)
            httpAddress = relay?.address ?? address
        }
        if let gossip = readyLine.split(separator: " ").first(where: { $0.hasPrefix("gossip=") }),
           let parsed = HostPort(parsing: String(gossip.dropFirst(7))) {
            gossipAddress = parsed
        }
    }

    /// The first line `pipe` carries, trimmed: read as it arrives, not to the end (a node keeps
    /// its output open), and given up on at `deadline` or end of file.
    static func firstLine(of pipe: Pipe, before deadline: Date = .distantFuture) -> String {
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        return String(decoding: buffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var pid: Int32 { process.processIdentifier }

    func client() -> HTTPClient { HTTPClient(address: httpAddress, timeoutMilliseconds: 10_000) }

    func kill(_ signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        kill(SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        relay?.stop()
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Whether the process still runs (or how it ended) and the last lines of its log: what a
    /// failed expectation about the node should show.
    func diagnosis(lines: Int = 20) -> String {
        let state = process.isRunning ? "running" : "exited with \(process.terminationStatus) (\(process.terminationReason == .uncaughtSignal ? "signal" : "exit"))"
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return "\(dataDirectory): \(state); log ends:\n" + log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Removes the data directory and log.
    func removeFiles() {
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

enum NodeProcessError: Error {
    case notReady(String)
}

/// Stops each of `nodes` by PID and checks its data directory with `pointmesh verify`.
func stopAndVerify(_ nodes: [NodeProcess], sourceLocation: SourceLocation = #_sourceLocation) {
    for node in nodes {
        node.stop()
        #expect((try? runPointmesh(["verify", "--data", node.dataDirectory]))?.status == 0, "verify \(node.dataDirectory)", sourceLocation: sourceLocation)
    }
}

/// Runs `pointmesh` with `arguments` to completion; returns its exit status and output.
func runPointmesh(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runProgram(NodeProcess.binary, arguments)
}

/// Runs `pointmesh-bench`, built beside `pointmesh`, with `arguments` to completion.
func runPointmeshBench(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runProgram(NodeProcess.binary.deletingLastPathComponent().appendingPathComponent("pointmesh-bench"), arguments)
}

/// Runs `program` to its end: its exit status and what it printed.
func runProgram(_ program: URL, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = program
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// `method` `path` at `node`, with `body` as JSON text if given.
func send(_ node: NodeProcess, _ method: String, _ path: String, _ body: String? = nil) throws -> HTTPClientResponse {
    try node.client().send(method, path, body: body.map { Array($0.utf8) })
}

/// A customer's balance as `node` shows it (nil if the answer has none).
func balance(_ node: NodeProcess, _ account: String) throws -> Int? {
    try node.client().getJSON("/v1/accounts/\(account)")["balance"] as? Int
}

extension HTTPClient {
    func postJSON(_ path: String, _ json: String) throws -> HTTPClientResponse {
        try send("POST", path, body: Array(json.utf8))
    }

    func getJSON(_ path: String) throws -> [String: Any] {
        let response = try send("GET", path)
        return (try JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }
}

extension HTTPClientResponse {
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double, _ condition: () throws -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? condition()) == true { return true }
        usleep(100_000)
    }
    return (try? condition()) == true
}

extension PointMeshNode {
    /// A node in this test process on free loopback ports, started, logging nowhere.
    static func startedOnLoopback(dataDirectory: String, clock: NodeClock = .system(), log: Logger = Logger { _ in }) throws -> PointMeshNode {
        var configuration = NodeConfiguration()
        configuration.dataDirectory = dataDirectory
        configuration.http = HostPort(host: "127.0.0.1", port: 0)
        configuration.gossip = HostPort(host: "127.0.0.1", port: 0)
        configuration.clock = clock
        let node = try PointMeshNode(configuration: configuration, log: log)
        node.start()
        return node
    }
}
