import PointMeshJSON

/// Compensation for the chain's own fault, by HQ in audited batches: extend the expiry of lots
/// expiring in a range (for listed accounts, or every account holding such lots), or grant
/// listed accounts bonus points as lots of their own. A batch of any size is sent in parts of
/// at most 1,000 accounts, each its own entry (`part`), so no commit holds the writer long.
public enum Compensation: EntryKindRule {
    public enum Action: String, Hashable, Sendable {
        case extendExpiry = "extend_expiry"
        case grant
    }

    public struct Request: Hashable, Sendable {
        public var batch: RequestID
        public var part: Int64?
        public var action: Action
        public var reason: String
        public var reference: String
        public var accounts: [AccountID]
        /// For an extension: lots expiring within it.
        public var expiring: ClosedRange<Int64>?
        public var days: Int64?
        public var points: Points?

        public init(batch: RequestID, part: Int64?, action: Action, reason: String, reference: String, accounts: [AccountID],
                    expiring: ClosedRange<Int64>? = nil, days: Int64? = nil, points: Points? = nil) {
            self.batch = batch
            self.part = part
            self.action = action
            self.reason = reason
            self.reference = reference
            self.accounts = accounts
            self.expiring = expiring
            self.days = days
            self.points = points
        }
    }

    /// What the decision needs: every listed account's lots (nil for one never seen) and, for a
    /// grant, its debt (repaid first), or the accounts holding lots in the range, and the expiry
    /// policies for granted lots.
    public struct Facts: Sendable {
        public var accounts: [(id: AccountID, book: LotBook?, debt: Points)]
        public var resolvedMoreThanLimit: Int?
        public var policies: ExpiryPolicies
    }

    public static let name = "compensation"
    public static let code = EntryCode(5)
    public static let scope = "compensation"
    public static let route = "/v1/compensations"
    public static let access = Access.administration
    public static let originators = NodeRole.headquartersOnly
    public static let summary = "Compensate customers for the chain's own fault: extend the expiry of lots expiring in a range, or grant bonus points. Idempotent by batch_id (and part); at most 1,000 accounts per request."
    public static let maximumAccounts = 1_000

    enum Fields {
        static let batch = FieldSpec("batch_id", .id, "The batch's id; sending it again answers 200 with the original result.")
        static let part = FieldSpec.optional("part", .positiveInteger(maximum: 1_000_000), "Which part of a batch sent in several requests of at most 1,000 accounts.")
        static let action = FieldSpec("action", .choice(["extend_expiry", "grant"]), "`extend_expiry`: lots expiring in the range get `days` more. `grant`: each listed account gets `points` as a new lot.")
        static let reason = FieldSpec("reason", .boundedText(maximumLength: 500), "Why the chain compensates (the outage, the withdrawn reward).")
        static let reference = FieldSpec("reference", .boundedText(maximumLength: 200), "The incident or decision it is recorded against.")
        static let accounts = FieldSpec.optional("accounts", .idArray(maximumCount: maximumAccounts), "The accounts; for `extend_expiry` without it, every account holding lots in the range.")
        static let from = FieldSpec.optional("expiring_from", .time, "`extend_expiry`: lots expiring at or after this instant…")
        static let to = FieldSpec.optional("expiring_to", .time, "…and at or before this one.")
        static let days = FieldSpec.optional("days", .positiveInteger(maximum: ExpiryRule.daysRange.upperBound), "`extend_expiry`: days added.")
        static let points = FieldSpec.optional("points", .positiveInteger(maximum: 1_000_000), "`grant`: points each account gets.")
    }

    public static let requestFields = [Fields.batch, Fields.part, Fields.action, Fields.reason, Fields.reference, Fields.accounts,
                                       Fields.from, Fields.to, Fields.days, Fields.points]
    public static let responseFields = [
        FieldSpec("batch_id", .id, "The batch."), FieldSpec("part", .integer, required: false, "The part, when given."),
        FieldSpec("action", .text, "`extend_expiry` or `grant`."),
        FieldSpec("accounts_affected", .integer, "Accounts whose lots were extended, or that were granted points."),
        FieldSpec("points", .integer, "Points whose expiry was extended, or points granted in all."),
        AnswerFields.entryID, AnswerFields.createdAt, AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = [
        (404, "unknown_account", "a listed account has no entries on this node"),
        (400, "too_many_accounts", "an extension by range alone matches more than 1,000 accounts"),
    ]

    enum Tag {
        static let batch: UInt64 = 1
        static let part: UInt64 = 2
        static let action: UInt64 = 3
        static let reason: UInt64 = 4
        static let reference: UInt64 = 5
        static let affected: UInt64 = 6
        static let points: UInt64 = 7
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        let batch: RequestID = try body.identifier(Fields.batch)
        let part = try body.optionalPositiveInteger(Fields.part)
        if let part, batch.rawValue.count + 1 + String(part).count > maximumIdentifierLength {
            throw .invalidField("batch_id", "with a part, at most \(maximumIdentifierLength - 1 - String(part).count) characters")
        }
        guard let action = Action(rawValue: try body.choice(Fields.action)) else { throw .invalidField("action", "unknown") }
        let reason = try body.text(Fields.reason), reference = try body.text(Fields.reference)
        let accounts: [AccountID] = try body.identifiers(Fields.accounts)
        let from = try body.optionalTime(Fields.from), to = try body.optionalTime(Fields.to)
        let days = try body.optionalPositiveInteger(Fields.days), points = try body.optionalPositiveInteger(Fields.points)
        var request = Request(batch: batch, part: part, action: action, reason: reason, reference: reference, accounts: accounts)
        switch action {
        case .extendExpiry:
            guard let from else { throw .missingField("expiring_from") }
            guard let to else { throw .missingField("expiring_to") }
            guard from <= to else { throw .invalidField("expiring_to", "must not be before expiring_from") }
            guard let days else { throw .missingField("days") }
            guard points == nil else { throw .invalidField("points", "an extension takes `days`, not `points`") }
            request.expiring = from...to
            request.days = days
        case .grant:
            guard !accounts.isEmpty else { throw .missingField("accounts") }
            guard let points else { throw .missingField("points") }
            guard days == nil, from == nil, to == nil else {
                throw .invalidField(days != nil ? "days" : "expiring_from", "a grant takes `accounts` and `points` only")
            }
            request.points = Points(points)
        }
        return request
    }

    public static func idempotencyID(_ request: Request) -> String {
        request.part.map { "\(request.batch):\($0)" } ?? request.batch.rawValue
    }

    public static func canonicalForm(_ r: Request) -> String {
        var text = "compensation\n\(r.batch)\n\(r.part ?? 0)\n\(r.action.rawValue)\n\(r.reason)\n\(r.reference)\n"
        text += "\(r.expiring?.lowerBound ?? 0)\n\(r.expiring?.upperBound ?? 0)\n\(r.days ?? 0)\n\(r.points?.value ?? 0)\n"
        for account in r.accounts { text += "\(account)\n" }
        return text
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        var listed = request.accounts, more: Int?
        if listed.isEmpty, let expiring = request.expiring {
            listed = try source.accounts(withLotsExpiring: expiring, limit: maximumAccounts + 1)
            if listed.count > maximumAccounts { more = listed.count }
        }
        var accounts: [(id: AccountID, book: LotBook?, debt: Points)] = []
        if more == nil {
            for account in listed {
                // A grant needs only to know the account and its debt (repaid first); an
                // extension counts its lots in range.
                let known = try source.isKnown(account)
                let debt = request.action == .grant && known ? try source.balance(BalanceKey(LedgerAccount(account), .debt)).posted : .zero
                accounts.append((account, !known ? nil : request.action == .grant ? LotBook() : try source.lotBook(of: account), debt))
            }
        }
        return Facts(accounts: accounts, resolvedMoreThanLimit: more, policies: try source.expiryPolicies())
    }

    public static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision {
        if let found = facts.resolvedMoreThanLimit { throw .tooManyAccounts(found: found, limit: maximumAccounts) }
        var writer = DetailsWriter()
        writer.text(Tag.batch, request.batch.rawValue)
        writer.number(Tag.part, request.part)
        writer.text(Tag.action, request.action.rawValue)
        writer.text(Tag.reason, request.reason)
        writer.text(Tag.reference, request.reference)
        var moves: [Move] = [], affected: Int64 = 0, points = Points.zero
        for (index, account) in facts.accounts.enumerated() {
            guard let book = account.book else {
                throw .unknownAccount(account.id, field: request.accounts.isEmpty ? "accounts" : "accounts[\(index)]")
            }
            switch request.action {
            case .extendExpiry:
                LotEvents.addSubject(account.id, to: &writer)
                let matching = book.lots.filter { request.expiring?.contains($0.expiresAt) == true }
                if !matching.isEmpty { affected += 1 }
                for lot in matching { points += lot.remaining }
            case .grant:
                let granted = request.points ?? .zero
                let policy = facts.policies.inForce(at: context.now)
                LotEvents.add(LotEvents.Terms(move: moves.count, maturesAt: context.now, expiresAt: policy.rule.expiry(earnedAt: context.now),
                                              policy: policy.id), to: &writer)
                moves.append(Move(debit: .compensated, credit: LedgerAccount(account.id), amount: granted))
                moves += DebtRepayment.moves(of: LedgerAccount(account.id), repaying: min(granted, account.debt), store: context.node)
                affected += 1
                points += granted
            }
        }
        if let expiring = request.expiring, let days = request.days {
            LotEvents.add(LotExtension(expiring: expiring, days: days), to: &writer)
        }
        writer.number(Tag.affected, affected)
        writer.number(Tag.points, points.value)
        return KindDecision(moves: moves, details: writer.details)
    }

    /// What a compensation entry records, for its answer and history.
    static func recorded(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let reader = try entry.details.reader()
        var fields: [String: JSONValue] = [
            "batch_id": .string(try reader.text(Tag.batch) ?? ""), "action": .string(try reader.text(Tag.action) ?? ""),
            "reason": .string(try reader.text(Tag.reason) ?? ""), "reference": .string(try reader.text(Tag.reference) ?? ""),
            "accounts_affected": .integer(try reader.number(Tag.affected) ?? 0), "points": .integer(try reader.number(Tag.points) ?? 0),
        ]
        if let part = try reader.number(Tag.part) { fields["part"] = .integer(part) }
        if let extended = try LotEvents.lotExtension(of: entry) {
            fields["days"] = .integer(extended.days)
            fields["expiring_from"] = .string(RFC3339.format(milliseconds: extended.expiring.lowerBound))
            fields["expiring_to"] = .string(RFC3339.format(milliseconds: extended.expiring.upperBound))
        }
        return fields
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        var fields = try recorded(entry).filter { ["batch_id", "part", "action", "accounts_affected", "points"].contains($0.key) }
        fields["entry_id"] = .string(entry.id.description)
        fields["created_at"] = .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds))
        fields["replayed"] = .bool(replayed)
        return Array(JSONValue.object(fields).serialized.utf8)
    }

    /// On an account's history line: the batch and its reason; a grant's points show as the
    /// line's change, an extension's as `days`.
    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        try recorded(entry).filter { !["accounts_affected", "points"].contains($0.key) }
    }
}
