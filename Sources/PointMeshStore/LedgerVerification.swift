import PointMeshCore

/// One disagreement between the stored counters and the counters recomputed from entries, or
/// a hole in an origin's sequence.
public struct VerificationProblem: Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

extension LedgerDatabase {
    /// Recomputes every counter from the entries and compares, and checks that each origin's
    /// sequence has no gaps. An empty result means the ledger is consistent.
    public func verify() throws -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        let recomputed = """
            SELECT account, origin,
                   SUM(MAX(balance_delta, 0)), SUM(MAX(-balance_delta, 0)),
                   SUM(MAX(debt_delta, 0)), SUM(MAX(-debt_delta, 0))
            FROM entries GROUP BY account, origin
            """
        let stored = "SELECT account, origin, credit, debit, debt_up, debt_down FROM counters"
        for (label, sql) in [
            ("stored counters disagree with entries", "\(stored) EXCEPT \(recomputed)"),
            ("entries imply counters that are not stored", "\(recomputed) EXCEPT \(stored)"),
        ] {
            let query = try connection.statement(sql)
            while try query.step() {
                problems.append(VerificationProblem(description:
                    "\(label): account=\(query.text(0)) origin=\(query.text(1)) credit=\(query.int64(2)) "
                    + "debit=\(query.int64(3)) debt_up=\(query.int64(4)) debt_down=\(query.int64(5))"))
            }
        }
        let gaps = try connection.statement(
            "SELECT origin, COUNT(*), MAX(seq) FROM entries GROUP BY origin HAVING COUNT(*) != MAX(seq)")
        while try gaps.step() {
            problems.append(VerificationProblem(description:
                "origin \(gaps.text(0)) has gaps: \(gaps.int64(1)) entries up to sequence \(gaps.int64(2))"))
        }
        return problems
    }
}
