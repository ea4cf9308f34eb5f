import Foundation
import PointMeshCommandLine
import PointMeshCore
import PointMeshJSON

/// `pointmesh export`: the change feed into files a warehouse loads, in parts, resumable.
enum ExportCommand: Command {
    static let name = "export"
    static let summary = "write the node's entries to files for a warehouse"
    static let after = Option("after", .value("CURSOR"), "start after this cursor (default: where the last export into --out stopped, else the start)")
    static let csv = Option("csv", "write CSV: one row per move, entry columns repeated (see docs/operations.md)")
    static let jsonl = Option("jsonl", "write JSON lines: one entry per line, as GET /v1/feed gives it")
    static let out = Option("out", .value("DIR"), required: true, "the directory for the parts and the cursor file")
    static let partSize = Option("part-size", .value("N"), "entries per part file (default 100000)")
    static let options: [Option] = [after, csv, jsonl, out, partSize] + NodeClient.options
    static let description = """
        Reads the node's change feed (GET /v1/feed) from the cursor on and writes it to DIR in
        parts, part-<first>-<last>.csv or .jsonl, each written whole (a part is renamed into
        place only when complete), then records the last cursor written in DIR/cursor. Run it
        again to continue: it starts after DIR/cursor, so every entry lands in exactly one part,
        across interruptions and restarts of the node. Progress goes to standard error. A part
        that can't be written stops the export with status 1, the cursor left at the last whole
        part.
        """
    static let epilogue = NodeClient.exitStatuses

    /// The CSV's columns: an entry's, then one move's.
    static let columns = ["cursor", "entry_id", "origin", "sequence", "kind", "created_at", "duplicate", "void", "accounts", "fields",
                          "move", "debit", "credit", "amount", "asset", "phase"]

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        let node = try NodeClient(arguments)
        guard arguments.has(Self.csv) != arguments.has(Self.jsonl) else { throw UsageError(message: "give one of --csv and --jsonl") }
        let directory = try arguments.required(Self.out), asCSV = arguments.has(Self.csv)
        let size = Int(try arguments.integer(Self.partSize) ?? 100_000)
        guard (1...10_000_000).contains(size) else { throw UsageError(message: "--part-size must be from 1 to 10000000, got \(size)") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw UsageError(message: "cannot make \(directory): \(error.localizedDescription)")
        }
        let cursorFile = (directory as NSString).appendingPathComponent("cursor")
        // The last part written whole is the truth: a run stopped between writing a part and
        // the cursor file must not write those entries into a second part.
        let written = lastCursorInParts(directory)
        var cursor: String
        if let after = arguments.value(Self.after) {
            guard (Int64(after) ?? -1) >= written else {
                throw UsageError(message: "\(directory) already holds parts up to cursor \(written): export after it, or into another --out")
            }
            cursor = after
        } else {
            let recorded = (try? String(contentsOfFile: cursorFile, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            let start = max(recorded, written)
            cursor = start > 0 ? String(start) : ""
        }
        var exported = 0
        do {
            while true {
                var part: [JSONValue] = [], end = cursor
                while part.count < size {
                    let page = try node.send("GET", "/v1/feed?after=\(cursor.urlPathEscaped)&limit=\(min(5_000, size - part.count))")
                    let entries = page.object["entries"]?.arrayValue ?? []
                    end = page.object["end"]?.stringValue ?? end
                    guard let last = entries.last?["cursor"]?.stringValue else { break }
                    part += entries
                    cursor = last
                }
                guard let first = part.first?["cursor"]?.stringValue else { break }
                let name = "part-\(first)-\(cursor).\(asCSV ? "csv" : "jsonl")"
                let text = asCSV ? csvDocument(part) : part.map { $0.serialized + "\n" }.joined()
                try write(text, to: (directory as NSString).appendingPathComponent(name))
                try write(cursor + "\n", to: cursorFile)
                exported += part.count
                FileHandle.standardError.write(Data("exported \(exported) entries into \(directory) (cursor \(cursor) of \(end))\n".utf8))
                if part.count < size { break }
            }
        } catch let failure as NodeClient.Failure {
            FileHandle.standardError.write(Data("pointmesh: stopped after \(exported) entries; run again to continue\n".utf8))
            return node.report(failure)
        } catch let failure as WriteFailure {
            FileHandle.standardError.write(Data("pointmesh: \(failure.message); stopped after \(exported) entries, DIR/cursor says where to continue\n".utf8))
            return ExitStatus.refused
        }
        print(exported == 0 ? "nothing new after cursor \(cursor.isEmpty ? "(start)" : cursor)" : "exported \(exported) entries; next export continues after cursor \(cursor)")
        return ExitStatus.success
    }

    /// A part or the cursor file could not be written.
    struct WriteFailure: Error {
        var message: String
    }

    /// The highest cursor a part in `directory` ends at (`part-<first>-<last>.…`), 0 when none.
    static func lastCursorInParts(_ directory: String) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("part-") && !$0.hasSuffix(".partial") }.compactMap { name in
            name.dropFirst(5).split(separator: ".").first?.split(separator: "-").last.flatMap { Int64($0) }
        }.max() ?? 0
    }

    /// Writes `text` to a temporary file beside `path`, flushes it to disk, then renames it into
    /// place and flushes the directory: after a crash or a power cut a part is whole or absent.
    private static func write(_ text: String, to path: String) throws(WriteFailure) {
        let temporary = path + ".partial"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw WriteFailure(message: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let count = bytes[done...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                close(descriptor)
                throw WriteFailure(message: "cannot write \(temporary): \(String(cString: strerror(errno)))")
            }
            done += count
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced else { throw WriteFailure(message: "cannot flush \(temporary) to disk: \(String(cString: strerror(errno)))") }
        guard rename(temporary, path) == 0 else {
            throw WriteFailure(message: "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }

    /// Entries as CSV rows, one per move (an entry without moves: one row, move columns empty).
    static func csvDocument(_ entries: [JSONValue]) -> String {
        let own: Set<String> = ["cursor", "entry_id", "origin", "sequence", "kind", "created_at", "duplicate", "void", "accounts", "moves"]
        var rows: [[String]] = []
        for entry in entries {
            guard case .object(let object) = entry else { continue }
            let fields = JSONValue.object(object.filter { !own.contains($0.key) }).serialized
            let head = ["cursor", "entry_id", "origin", "sequence", "kind", "created_at"].map { object[$0].map(CSVTable.field) ?? "" }
                + [object["duplicate"].map(CSVTable.field) ?? "false", object["void"].map(CSVTable.field) ?? "false",
                   (object["accounts"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " "), fields]
            let moves = object["moves"]?.arrayValue ?? []
            if moves.isEmpty { rows.append(head + ["", "", "", "", "", ""]) }
            for (index, move) in moves.enumerated() {
                rows.append(head + [String(index)] + ["debit", "credit", "amount", "asset", "phase"].map { move[$0].map(CSVTable.field) ?? "" })
            }
        }
        return CSVTable.text(header: columns, rows: rows)
    }
}
