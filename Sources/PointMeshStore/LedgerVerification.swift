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
            problems += try connection.all(sql) { row in
                VerificationProblem(description:
                    "\(label): account=\(row.text(0)) origin=\(row.text(1)) credit=\(row.int64(2)) "
                    + "debit=\(row.int64(3)) debt_up=\(row.int64(4)) debt_down=\(row.int64(5))")
            }
        }
        problems += try connection.all(
            "SELECT origin, COUNT(*), MAX(seq) FROM entries GROUP BY origin HAVING COUNT(*) != MAX(seq)"
        ) { row in
            VerificationProblem(description: "origin \(row.text(0)) has gaps: \(row.int64(1)) entries up to sequence \(row.int64(2))")
        }
        return problems
    }
}
