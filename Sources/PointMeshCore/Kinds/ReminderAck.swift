import PointMeshJSON

/// A reminder channel saying which reminders it sent, so the next run skips them on every node.
/// A reminder is an account's points expiring at one instant, listed in one window: reminded at
/// 30 days and again at 7 days are two reminders; the same one twice is not.
public enum ReminderAck: EntryKindRule {
    /// One reminder, as `GET /v1/reminders` listed it.
    public struct Reminder: Hashable, Sendable {
        public var account: AccountID
        public var expiresAt: Int64
        public var withinDays: Int64

        public init(account: AccountID, expiresAt: Int64, withinDays: Int64) {
            self.account = account
            self.expiresAt = expiresAt
            self.withinDays = withinDays
        }

        /// The link an acknowledgement declares, and the reminder listing looks up.
        public var link: String { "reminder:\(account.rawValue)|\(expiresAt)|\(withinDays)" }
    }

    public struct Request: Hashable, Sendable {
        public var request: RequestID
        public var reminders: [Reminder]

        public init(request: RequestID, reminders: [Reminder]) {
            self.request = request
            self.reminders = reminders
        }
    }

    public static let name = "reminder-ack"
    public static let code = EntryCode(6)
    public static let scope = "reminder-ack"
    public static let route = "/v1/reminders/acks"
    public static let access = Access.headquarters
    public static let summary = "Acknowledge reminders a channel sent, so later runs of GET /v1/reminders with the same within_days skip them on every node."
    public static let maximumReminders = 1_000

    enum Fields {
        static let request = FieldSpec("request_id", .id, "The channel's id for this acknowledgement.")
        static let account = FieldSpec("account_id", .id, "As the reminder listed it.")
        static let expiresAt = FieldSpec("expires_at", .time, "As the reminder listed it.")
        static let within = FieldSpec("within_days", .positiveInteger(maximum: ExpiryRule.daysRange.upperBound), "The window the reminder was listed in.")
        static let points = FieldSpec.optional("points", .positiveInteger(maximum: Limits.maximumPoints.value), "As the reminder listed it (not checked: a reminder is its account, instant and window).")
        static let reminders = FieldSpec("reminders", .array(of: [account, expiresAt, within, points], maximumCount: maximumReminders),
                                         "The reminders sent, as the listing gave them.")
    }

    public static let requestFields = [Fields.request, Fields.reminders]
    public static let responseFields = [
        FieldSpec("request_id", .id, "The acknowledgement."), FieldSpec("acknowledged", .integer, "Reminders acknowledged."),
        AnswerFields.entryID, AnswerFields.createdAt, AnswerFields.replayed,
    ]
    public static let refusals: [(status: Int, code: String, when: String)] = []

    public static func request(from body: JSONObject) throws(RequestError) -> Request {
        let request: RequestID = try body.identifier(Fields.request)
        var reminders: [Reminder] = []
        for item in try body.objects(Fields.reminders) {
            // `points` is checked like any field, though a reminder is its account, instant and window.
            _ = try item.optionalPositiveInteger(Fields.points)
            reminders.append(Reminder(account: try item.identifier(Fields.account), expiresAt: try item.time(Fields.expiresAt),
                                      withinDays: try item.positiveInteger(Fields.within)))
        }
        guard !reminders.isEmpty else { throw .invalidField("reminders", "must list at least one reminder") }
        return Request(request: request, reminders: reminders)
    }

    public static func idempotencyID(_ request: Request) -> String { request.request.rawValue }

    public static func canonicalForm(_ r: Request) -> String {
        "reminder-ack\n\(r.request)\n" + r.reminders.map { $0.link + "\n" }.joined()
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws {}

    public static func decide(_ request: Request, facts: Void, context: RequestContext) throws(LedgerError) -> KindDecision {
        var writer = DetailsWriter()
        for reminder in Set(request.reminders).sorted(by: { $0.link < $1.link }) { EntryLinks.add(reminder.link, to: &writer) }
        return KindDecision(moves: [], details: writer.details)
    }

    static func acknowledged(_ entry: LedgerEntry) -> Int64 {
        Int64(EntryLinks.of(entry.details).filter { $0.hasPrefix("reminder:") }.count)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        Array(JSONValue.object([
            "request_id": .string(entry.idempotencyKey.id), "acknowledged": .integer(acknowledged(entry)), "entry_id": .string(entry.id.description),
            "created_at": .string(RFC3339.format(milliseconds: entry.timestamp.wallMilliseconds)), "replayed": .bool(replayed),
        ]).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        ["acknowledged": .integer(acknowledged(entry))]
    }
}
