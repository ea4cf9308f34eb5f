import Foundation
import PointMeshCommandLine

/// CPU time from /proc: a process's or one thread's (`stat`, with the name the OS knows it by),
/// and a thread's to the nanosecond (`schedstat`).
enum ThreadTimes {
    /// The name and the user and system time, in seconds, in `path`; nil if it can't be read.
    static func read(stat path: String) -> (name: Substring, seconds: Double)? {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
              let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the name: state is field 3, utime 14 and stime 15 (1-based).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (stat[stat.index(after: open)..<close], (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// The time a thread (`/proc/PID/task/TID`) has run on a CPU, in seconds, from its
    /// `schedstat` (nanoseconds: `stat` counts in ticks of 10 ms, too coarse for a round of a
    /// bench); nil if it can't be read.
    static func runSeconds(task path: String) -> Double? {
        guard let text = try? String(contentsOfFile: path + "/schedstat", encoding: .utf8),
              let nanoseconds = text.split(separator: " ").first.flatMap({ Double($0) })
        else { return nil }
        return nanoseconds / 1e9
    }

    /// The threads of `process` (a PID, or `self`) named `name`, by thread id.
    static func threads(named name: String, of process: String = "self") -> [Int] {
        let tasks = "/proc/\(process)/task"
        return ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).filter { read(stat: "\(tasks)/\($0)/stat")?.name == name[...] }.compactMap { Int($0) }
    }
}
