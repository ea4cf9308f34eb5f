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
        let nonZero = "credit != 0 OR debit != 0 OR debt_up != 0 OR debt_down != 0"
        let recomputed = """
            SELECT account, origin,
                   SUM(MAX(balance_delta, 0)) AS credit, SUM(MAX(-balance_delta, 0)) AS debit,
                   SUM(MAX(debt_delta, 0)) AS debt_up, SUM(MAX(-debt_delta, 0)) AS debt_down
            FROM entries WHERE duplicate = 0 GROUP BY account, origin
            """
        // Rows whose totals are all zero say nothing (a counter of only taken-back duplicates,
        // or of 0-point entries), so both sides leave them out.
        let stored = "SELECT account, origin, credit, debit, debt_up, debt_down FROM counters WHERE \(nonZero)"
        for (label, sql) in [
            ("stored counters disagree with entries", "\(stored) EXCEPT SELECT * FROM (\(recomputed)) WHERE \(nonZero)"),
            ("entries imply counters that are not stored", "SELECT * FROM (\(recomputed)) WHERE \(nonZero) EXCEPT \(stored)"),
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
