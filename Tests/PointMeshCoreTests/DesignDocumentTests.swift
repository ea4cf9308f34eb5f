import Foundation
import Testing

/// docs/design.md's layout names every module in Sources/ and no module that is gone, so a
/// reader who finds a behaviour by its module's name finds it in the doc too.
@Suite struct DesignDocumentTests {
    @Test func theLayoutListsExactlyTheModulesInSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let design = try String(contentsOf: root.appendingPathComponent("docs/design.md"), encoding: .utf8)
        let modules = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Sources").path).filter { !$0.hasPrefix(".") }
        // The layout block: indented lines after "    Sources/", up to the first blank line.
        let lines = design.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0 == "    Sources/" })
        let block = lines[(start + 1)...].prefix { !$0.isEmpty }
        let named = Set(block.flatMap { line -> [String] in
            // A module is named at the start of its row ("      Name   text"), several by commas.
            guard line.hasPrefix("      "), !line.hasPrefix("       ") else { return [] }
            let head = line.dropFirst(6).components(separatedBy: "  ").first ?? ""
            return head.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        })
        #expect(named == Set(modules), "design.md's layout names \(named.sorted()); Sources/ has \(modules.sorted())")
    }
}
