/// One published version of the expiry policy: from `effectiveAt` on, lots earned are governed
/// by `rule`. Versions are entries (`ExpiryPolicyKind`), so they replicate like everything else.
public struct ExpiryPolicyVersion: Hashable, Sendable {
    public var id: RequestID
    public var rule: ExpiryRule
    public var effectiveAt: Int64
    /// When HQ published it (its entry's timestamp): the 30 days' notice counts from here.
    public var publishedAt: Int64

    public init(id: RequestID, rule: ExpiryRule, effectiveAt: Int64, publishedAt: Int64) {
        self.id = id
        self.rule = rule
        self.effectiveAt = effectiveAt
        self.publishedAt = publishedAt
    }

    /// The policy before HQ publishes any: the end of the 12th full month after earning.
    public static let standard = ExpiryPolicyVersion(id: RequestID(unchecked: "standard"), rule: .monthsEnd(12),
                                                     effectiveAt: .min, publishedAt: .min)
}

/// The versions a node knows, and which governs an instant. Pure: the same versions give the
/// same answer on every node.
///
/// **The 30 days' notice on the converged history.** Each node refuses a shortening it can see
/// (`shorteningRefusal`), but two versions published at cut-off nodes can make one together:
/// ten years effective now at one store, 400 days effective in a second at the other, each a
/// lengthening where it was published. So the versions are taken in effect order, and a
/// version that would shorten validity compared with the standing version before it, with under
/// 30 days between its publication and its effect, is **void**: it never takes effect, on any
/// node. Lots earned under it where it was published keep their dates (lot terms are facts).
public struct ExpiryPolicies: Hashable, Sendable {
    /// Every published version that stands, in effect order; `standard` is implied before the first.
    public private(set) var versions: [ExpiryPolicyVersion]
    /// Versions published but void: they shorten with under 30 days' notice on the merged history.
    public private(set) var voided: [ExpiryPolicyVersion]

    /// Notice a shortening needs: its effective instant at least this long after publication.
    public static let shorteningNotice: Int64 = 30 * CivilCalendar.millisecondsPerDay

    public init(_ versions: [ExpiryPolicyVersion] = []) {
        var standing: [ExpiryPolicyVersion] = [], voided: [ExpiryPolicyVersion] = []
        for version in versions.sorted(by: Self.effectOrder) {
            let before = standing.last ?? .standard
            if version.rule.isShorter(than: before.rule), version.effectiveAt - version.publishedAt < Self.shorteningNotice {
                voided.append(version)
            } else {
                standing.append(version)
            }
        }
        self.versions = standing
        self.voided = voided
    }

    /// Versions take effect by effective instant; two with the same instant, by publication,
    /// then id, so every node picks the same.
    static func effectOrder(_ lhs: ExpiryPolicyVersion, _ rhs: ExpiryPolicyVersion) -> Bool {
        (lhs.effectiveAt, lhs.publishedAt, lhs.id.rawValue) < (rhs.effectiveAt, rhs.publishedAt, rhs.id.rawValue)
    }

    /// The version in force at `instant`: the last to take effect at or before it.
    public func inForce(at instant: Int64) -> ExpiryPolicyVersion {
        versions.last { $0.effectiveAt <= instant } ?? .standard
    }

    /// Why `candidate`, published at `now`, may not be: it shortens validity compared with the
    /// version it would follow (or any version due after it), with under 30 days' notice. Nil
    /// when it may.
    public func shorteningRefusal(_ candidate: ExpiryPolicyVersion, now: Int64) -> ShorteningRefusal? {
        let followed = [inForce(at: candidate.effectiveAt)] + versions.filter { $0.effectiveAt > candidate.effectiveAt }
        guard let shortened = followed.first(where: { candidate.rule.isShorter(than: $0.rule) }) else { return nil }
        let earliest = now + Self.shorteningNotice
        guard candidate.effectiveAt < earliest else { return nil }
        return ShorteningRefusal(shortened: shortened, earliest: earliest)
    }

    /// A shortening refused: the version it shortens and the earliest instant it could take effect.
    public struct ShorteningRefusal: Hashable, Sendable {
        public var shortened: ExpiryPolicyVersion
        public var earliest: Int64
    }
}
