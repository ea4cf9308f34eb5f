import Dispatch
import Foundation
import PointMeshCore

extension NodeClock {
    /// The system's clocks. With `offsetFile` (`--clock-offset-file`, for tests and rehearsals
    /// of expiry), wall time is the system's plus the milliseconds written in that file, read
    /// at each use, so a test can move a running node's time without restarting it; an
    /// unreadable or empty file means no offset. Monotonic time is never shifted, so gossip
    /// rounds and timeouts go on as before when a rehearsal moves the wall clock either way.
    public static func system(offsetFile: String? = nil) -> NodeClock {
        NodeClock(
            wall: {
                let system = Int64(Date().timeIntervalSince1970 * 1000)
                guard let offsetFile, let text = try? String(contentsOfFile: offsetFile, encoding: .utf8),
                      let offset = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
                else { return system }
                return system + offset
            },
            monotonic: { DispatchTime.now().uptimeNanoseconds })
    }
}
