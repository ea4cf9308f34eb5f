import Foundation
import PointMeshCommandLine
import PointMeshHTTP
import PointMeshJSON
import PointMeshTLS
import Synchronization

/// A `pointmesh serve` child process on free ports, for benchmarks.
final class BenchNode {
    let process = Process()
    let httpAddress: HostPort
    /// How the bench verifies the node's HTTPS, when it serves HTTPS.
    let tls: TLSContext?
    let gossipAddress: HostPort

    /// The `pointmesh` built beside this program.
    static var sibling: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("pointmesh")
    }

    /// What `knowsExitWithParent` found, by executable: a run starts many nodes of one build.
    private static let exitWithParentByPath = Mutex<[String: Bool]>([:])

    /// Whether `executable serve --help` lists --exit-with-parent (asked once per executable).
    static func knowsExitWithParent(_ executable: URL) -> Bool {
        if let known = exitWithParentByPath.withLock({ $0[executable.path] }) { return known }
        let knows = helpLists("--exit-with-parent", executable)
        exitWithParentByPath.withLock { $0[executable.path] = knows }
        return knows
    }

    private static func helpLists(_ text: String, _ executable: URL) -> Bool {
        let probe = Process(), output = Pipe()
        probe.executableURL = executable
        probe.arguments = ["serve", "--help"]
        probe.standardOutput = output
        guard (try? probe.run()) != nil else { return false }
        let help = output.fileHandleForReading.readDataToEndOfFile()
        probe.waitUntilExit()
        return String(decoding: help, as: UTF8.self).contains(text)
    }

    /// - Parameter binary: the `pointmesh` to run; nil runs `sibling`.
    /// `tls`: the node serves HTTPS (its `--http-tls-*` among `extra`), and the bench's own
    /// requests to it verify it with this context.
    init(dataDirectory: String, arguments extra: [String] = [], binary: String? = nil, tls: TLSContext? = nil) throws {
        self.tls = tls
        let executable = binary.map { URL(fileURLWithPath: $0) } ?? Self.sibling
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw UsageError(message: "no pointmesh program at \(executable.path): build it (`swift build -c release`) or name one with --node-binary")
        }
        process.executableURL = executable
        // Releases before 0.7 have no --exit-with-parent; the run stops its nodes by PID anyway.
        let exitWithParent = Self.knowsExitWithParent(executable) ? ["--exit-with-parent"] : []
        process.arguments = ["serve", "--data", dataDirectory, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"] + exitWithParent + extra
        let output = Pipe()
        process.standardOutput = output
        // Its log goes to a file beside its data (a pipe nobody reads would fill and stall it).
        let logPath = dataDirectory + ".log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        func field(_ name: String) -> HostPort? {
            text.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { HostPort(parsing: String($0.dropFirst(name.count + 1))) }
        }
        guard let http = field("http"), let gossip = field("gossip") else {
            process.terminate()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw UsageError(message: "the node did not print its ready line: \(text)\n\(log.suffix(2_000))")
        }
        httpAddress = http
        gossipAddress = gossip
    }

    func peakRSSKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// Bytes the node process has caused to be written to storage (`/proc/PID/io`, `write_bytes`).
    func diskBytesWritten() -> Int {
        guard let io = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/io", encoding: .utf8),
              let line = io.split(separator: "\n").first(where: { $0.hasPrefix("write_bytes:") })
        else { return 0 }
        return Int(line.split(separator: " ").last ?? "0") ?? 0
    }

    /// The time, in seconds, the node's threads named `name` (the OS name the node gives them:
    /// `pm-writer`, `pm-http-loop`) have run on a CPU (`schedstat`, to the nanosecond).
    func threadCPUSeconds(named name: String) -> Double {
        let process = String(process.processIdentifier)
        return ThreadTimes.threads(named: name, of: process).reduce(0) { $0 + (ThreadTimes.runSeconds(task: "/proc/\(process)/task/\($1)") ?? 0) }
    }

    /// CPU time the node process has used, user and system, in seconds (`/proc/PID/stat`).
    func cpuSeconds() -> Double { ThreadTimes.read(stat: "/proc/\(process.processIdentifier)/stat")?.seconds ?? 0 }

    /// A counter or gauge from `/metrics`, 0 if absent.
    func metric(_ name: String) -> Int64 { sample(name).flatMap { Int64($0) } ?? 0 }

    /// A sample from `/metrics` that may not be an integer (a histogram's `_sum`), 0 if absent.
    func metricValue(_ name: String) -> Double { sample(name).flatMap { Double($0) } ?? 0 }

    /// The value of the unlabelled sample `name` in `/metrics`, as written.
    private func sample(_ name: String) -> Substring? {
        guard let text = try? HTTPClient(address: httpAddress, tls: tls).send("GET", "/metrics").bodyText else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }?.split(separator: " ").last
    }

    /// The node's entry count from `/v1/status`.
    func entries() -> Int {
        guard let body = try? HTTPClient(address: httpAddress, tls: tls).send("GET", "/v1/status").body,
              let entries = (try? JSONParser.parse(body))?["entries"]?.integerValue
        else { return -1 }
        return Int(entries)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
