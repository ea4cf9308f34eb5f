import Foundation
import PointMeshCommandLine
import Synchronization

/// Samples a ledger's WAL file size every 50 ms while a benchmark runs, for the peak it
/// reached (issue: the WAL once grew to 793 MB under load). Reads the file's size from outside
/// the node, so it measures what the disk holds whatever the node reports.
final class WALPeak: Sendable {
    private let peak = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(databasePath: String) {
        let wal = databasePath + "-wal"
        Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                var info = stat()
                if stat(wal, &info) == 0 { peak.max(Int(info.st_size)) }
                usleep(50_000)
            }
            done.signal()
        }.start()
    }

    /// Stops sampling; returns the largest size seen, in bytes.
    func stop() -> Int {
        stopped.store(true, ordering: .relaxed)
        done.wait()
        return peak.load(ordering: .relaxed)
    }
}

extension Atomic<Int> {
    fileprivate func max(_ value: Int) {
        var current = load(ordering: .relaxed)
        while value > current {
            let (exchanged, original) = compareExchange(expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
