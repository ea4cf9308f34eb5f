import Foundation
import PointMeshHTTP
import Testing

/// One `$ command` of the README tour and the output the README shows under it.
private struct TourStep {
    var command: String
    var expected: [String]
    /// The README lines the expected output occupies.
    var outputLines: Range<Int>
}

/// The README's "A five-minute tour", as written: every `$` line of its code blocks in order,
/// with the output shown under it (up to the next `$` line or the block's end).
private func tourSteps(in lines: [String]) -> [TourStep] {
    guard let start = lines.firstIndex(of: "## A five-minute tour") else { return [] }
    let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
    var steps: [TourStep] = []
    var index = start
    while index < end {
        guard lines[index].hasPrefix("    $ ") else { index += 1; continue }
        var command = String(lines[index].dropFirst(6))
        while command.hasSuffix("\\"), index + 1 < end {
            index += 1
            command += "\n" + lines[index]
        }
        index += 1
        let first = index
        while index < end, lines[index].hasPrefix("    "), !lines[index].hasPrefix("    $ ") { index += 1 }
        steps.append(TourStep(command: command, expected: lines[first..<index].map { String($0.dropFirst(4)) }, outputLines: first..<index))
    }
    return steps
}

/// What may differ between two runs of the tour: node ids, times of day (dates stay, and
/// midnight instants, which the rules compute, stay whole), digests and addresses.
private func masked(_ line: String) -> String {
    var text = line
    let patterns: [(String, String)] = [
        ("node-[0-9a-f]{12}", "node-…"),
        ("(\\d{4}-\\d{2}-\\d{2})T(?!00:00:00\\.000Z)\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z", "$1T…Z"),
        ("[0-9a-f]{64}", "…"),
        ("(http|gossip)=\\S+", "$1=…"),
    ]
    for (pattern, template) in patterns {
        text = text.replacingOccurrences(of: pattern, with: template, options: .regularExpression)
    }
    return text.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
}

/// Runs `command` with bash in `directory`, `pointmesh` on the PATH; stdout and stderr together.
private func runShell(_ command: String, in directory: String, environment: [String: String]) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", "exec 2>&1\n" + command]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    return text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0).map(String.init)
}

@Suite struct ReadmeTourTests {
    /// The README tour, run command by command against real nodes on free ports (the tour's
    /// ports are mapped to them), its outputs compared with the README's with ids, times of
    /// day and digests masked: the tour can't go stale. `POINTMESH_README_TOUR=update swift test
    /// --filter ReadmeTour` writes this run's outputs into the README instead.
    @Test func theReadmeTourRunsAsWritten() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        var lines = try String(contentsOf: readme, encoding: .utf8).components(separatedBy: "\n")
        let steps = tourSteps(in: lines)
        #expect(steps.count > 30, "the tour has \(steps.count) commands")
        let directory = NodeProcess.scratchDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var nodes: [NodeProcess] = []
        defer {
            for node in nodes { node.stop() }
            try? FileManager.default.removeItem(atPath: directory)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = NodeProcess.binary.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["POINTMESH_TOKEN"] = nil
        let update = environment["POINTMESH_README_TOUR"] == "update"
        var outputs: [(TourStep, [String])] = []

        for step in steps where !step.command.hasPrefix("swift ") && !step.command.hasPrefix("export ") {
            var actual: [String]
            if step.command.hasPrefix("pointmesh serve ") {
                // The tour's fixed ports become free ones (NodeProcess picks them and takes the
                // data directory); a second node seeds from the first.
                let words = step.command.split(separator: " ").dropFirst(2).map(String.init)
                var arguments: [String] = [], dataDirectory = NodeProcess.scratchDirectory()
                for (option, value) in zip(stride(from: 0, to: words.count, by: 2).map { words[$0] }, stride(from: 1, to: words.count, by: 2).map { words[$0] }) {
                    switch option {
                    case "--data": dataDirectory = directory + "/" + value
                    case "--http", "--gossip": break
                    case "--clock-offset-file": arguments += [option, directory + "/" + value]
                    case "--seed": arguments += [option, try #require(nodes.first).gossipAddress.description]
                    default: arguments += [option, value]
                    }
                }
                let node = try NodeProcess(dataDirectory: dataDirectory, extraArguments: arguments)
                nodes.append(node)
                if let first = nodes.first, node !== first {
                    #expect(eventually(within: 30) {
                        try node.client().getJSON("/v1/status")["digest"] as? String == first.client().getJSON("/v1/status")["digest"] as? String
                    }, "the second node never caught up")
                }
                actual = step.expected.isEmpty ? [] : [node.readyLine]
            } else {
                var command = step.command
                for (index, node) in nodes.enumerated() {
                    for (tourAddress, address) in [("127.0.0.1:\(8080 + index)", node.httpAddress), ("127.0.0.1:\(7070 + index)", node.gossipAddress)] {
                        command = command.replacingOccurrences(of: tourAddress, with: address.description)
                    }
                    if index == 0 { command = command.replacingOccurrences(of: "localhost:8080", with: node.httpAddress.description) }
                }
                if let first = nodes.first { environment["POINTMESH_NODE"] = "http://\(first.httpAddress)" }
                actual = try runShell(command, in: directory, environment: environment)
            }
            outputs.append((step, actual))
            guard !update else { continue }
            #expect(actual.map(masked) == step.expected.map(masked),
                    "README tour: \(step.command)\nexpected:\n\(step.expected.joined(separator: "\n"))\nactual:\n\(actual.joined(separator: "\n"))")
        }
        guard update else { return }
        for (step, actual) in outputs.reversed() {
            lines.replaceSubrange(step.outputLines, with: actual.map { line in
                // The README shows the tour's ports, not the ones this run picked.
                nodes.enumerated().reduce("    " + line) { text, node in
                    text.replacingOccurrences(of: "http=\(node.element.httpAddress)", with: "http=127.0.0.1:\(8080 + node.offset)")
                        .replacingOccurrences(of: "gossip=\(node.element.gossipAddress)", with: "gossip=127.0.0.1:\(7070 + node.offset)")
                }
            })
        }
        try lines.joined(separator: "\n").write(to: readme, atomically: true, encoding: .utf8)
    }
}
