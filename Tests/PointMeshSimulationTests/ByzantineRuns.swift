import Foundation
import PointMeshSimulation

/// Seeds 0 to N−1, N from the environment variable `variable` or `count`.
func simulationSeeds(from variable: String, default count: UInt64) -> [UInt64] {
    Array(0..<(ProcessInfo.processInfo.environment[variable].flatMap { UInt64($0) } ?? count))
}

extension SimulatedCluster {
    /// Lifts the faults and runs a simulated second at a time from `start` (milliseconds) until
    /// the honest nodes converge, for at most `seconds`; whether they did.
    mutating func settle(from start: Int64, within seconds: Int = 60) -> Bool {
        faulty = false
        for second in 1...seconds {
            run(until: start + Int64(second) * 1_000)
            if converged { return true }
        }
        return false
    }
}
