import PointMeshJSON
import PointMeshCrypto

/// A late campaign credit: the points a campaign owes a receipt that earned before its store
/// knew the campaign (it was cut off when HQ published it, or the window started before
/// publication). Written by the store that rang the receipt up, the only node that does
/// (`LateCampaigns`), against its own earning entry; its idempotency key is the campaign, the
/// receipt and that entry, so a second writing (a restored node) is a duplicate. And a credit
/// counts only while its earning entry counts: when a receipt rung up at two cut-off stores
/// settles on the other store's entry, this store's credits for it count for nothing on every
/// node (`countsOnlyWith`): credited once.
///
/// It credits the account the purchase credited (a pool, for a member who auto-pools), from
/// the store's issuance account for the month of the credit (the budget counts it, but never
/// refuses it: the points are owed), with the purchase's expiry date (points never gain life).
public enum CampaignCredit: EntryKindRule {
    public struct Request: Hashable, Sendable {
        public var campaign: CampaignID
        public var receipt: ReceiptID
        /// The earning entry the credit is for (this store's own).
        public var purchase: EntryID

        public init(campaign: CampaignID, receipt: ReceiptID, purchase: EntryID) {
            self.campaign = campaign
            self.receipt = receipt
            self.purchase = purchase
        }
    }

    public static let name = "campaign-credit"
    public static let code = EntryCode(19)
    public static let scope = "campaign-credit"
    /// Written by the node itself, never through the API.
    public static let route = ""
    public static let access = Access.administration
    public static let summary = "A campaign's points for a receipt that earned before its store knew the campaign."
    public static let requestFields: [FieldSpec] = []
    public static let responseFields: [FieldSpec] = []
    public static let refusals: [(status: Int, code: String, when: String)] = []

    /// Its details fields (the simulation reads them to check credits).
    public enum Tag {
        public static let campaign: UInt64 = 1
        public static let receipt: UInt64 = 2
        static let points: UInt64 = 3
        static let purchase: UInt64 = 4
        /// The campaign's backdate reason, on a credit for a receipt rung up before it was published.
        public static let backdateReason: UInt64 = 5
    }

    /// The link on every credit of a receipt, so the next finds what was credited.
    static func link(_ receipt: ReceiptID) -> String { "campaign-credits:\(receipt.rawValue)" }
    /// The link on every credit for one earning entry, so they are found when it stops counting.
    public static func creditsLink(_ purchase: EntryID) -> String { "credits-of:\(purchase)" }
    public static func dependentsLink(of entry: EntryID) -> String? { creditsLink(entry) }

    /// The earning entry a credit is for: it counts only while that entry counts.
    public static func countsOnlyWith(_ entry: LedgerEntry) -> EntryID? {
        guard entry.code == code, let text = try? entry.details.reader().text(Tag.purchase) else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let sequence = Int64(parts[parts.count - 1]), let origin = try? NodeID(validating: parts.dropLast().joined(separator: ":"))
        else { return nil }
        return EntryID(origin: origin, sequence: sequence)
    }

    public static func request(from body: JSONObject) throws(RequestError) -> Request { throw .invalidJSON("written by the node only") }
    public static func idempotencyID(_ r: Request) -> String { SHA256Digest.hex(of: Array("\(r.campaign)\n\(r.receipt)\n\(r.purchase)".utf8)) }
    public static func canonicalForm(_ r: Request) -> String { "campaign-credit\n\(r.campaign)\n\(r.receipt)\n\(r.purchase)\n" }

    /// The purchase, the credits and refunds the receipt already had, and the catalog.
    public struct Facts: Sendable {
        public var purchase: LedgerEntry?
        public var credits: [LedgerEntry]
        public var refunds: [LedgerEntry]
        public var catalog: Catalog
        /// What the account the purchase credited owes: the credit repays it first.
        public var debt: Points = .zero
    }

    public static func facts(for request: Request, from source: some FactsSource, context: RequestContext) throws -> Facts {
        let purchases = try source.countingEntries(for: IdempotencyKey(scope: Earn.scope, id: request.receipt.rawValue))
        guard let purchase = purchases.first(where: { $0.id == request.purchase }) else {
            return Facts(purchase: nil, credits: [], refunds: [], catalog: try source.catalog())
        }
        let credited = purchase.moves.first?.credit
        return Facts(purchase: purchase, credits: try source.linkedEntries(creditsLink(purchase.id)),
                     refunds: try RefundCondition.standing(of: purchase, from: source), catalog: try source.catalog(),
                     debt: try credited.map { try source.balance(BalanceKey($0, .debt)).posted } ?? .zero)
    }

    /// What `campaign` owes the purchase, given the campaigns its earning and earlier credits
    /// counted (each at its largest definition); zero when nothing (outside the window or
    /// scope, or already applied in full).
    /// A receipt whose earning counted this campaign under a definition the merge voided (one id
    /// published with other terms on two sides of a cut) keeps those points and is owed what the
    /// standing definition gives beyond them, in one credit.
    /// A receipt already partly refunded is owed the share not refunded (`refunds`: the
    /// receipt's refund entries), as its refunds reverse the credit pro rata with the rest.
    public static func owed(_ campaign: Campaign, purchase: LedgerEntry, credits: [LedgerEntry], refunds: [LedgerEntry],
                            catalog: Catalog) throws(DecodingError) -> Points {
        guard purchase.code == Earn.code, campaign.applies(at: purchase.timestamp.wallMilliseconds, store: purchase.id.origin) else { return .zero }
        var applied = try Earn.consideredCampaigns(purchase)
        var got = Points.zero
        // Most purchases in a window were decided with the campaign in force: decide that
        // before reading the receipt's lines.
        if applied.contains(campaign.id) {
            guard catalog.voidCampaigns[campaign.id] != nil else { return .zero }
            got = try Earn.campaignPoints(purchase).filter { $0.campaign == campaign.id }.reduce(.zero) { $0 + $1.points }
        }
        let recorded = try Earn.recorded(purchase)
        for credit in credits {
            guard let id: CampaignID = try credit.details.reader().identifier(Tag.campaign) else { continue }
            // One credit per campaign and receipt (its key): once written, nothing more is owed.
            guard id != campaign.id else { return .zero }
            applied.append(id)
        }
        // Every other campaign already applied counts at the largest effect any of its
        // definitions had: a receipt credited under a definition the merge later voided keeps
        // those points, and this credit adds only what that does not cover. This campaign
        // counts at what it gave.
        let standing = EarningRules.lateCredit(campaign, amount: recorded.amount, items: recorded.items,
                                               applied: applied.filter { $0 != campaign.id }.flatMap(catalog.definitions(of:)))
        let full = standing > got ? standing - got : .zero
        var refunded: Int64 = 0
        for refund in refunds { refunded += try Refund.refundedAmount(refund) }
        guard refunded > 0 else { return full }
        let kept = max(0, recorded.amount.value - refunded)
        return Points(Int64(recorded.amount.value).dividingFullWidth(full.value.multipliedFullWidth(by: kept)).quotient)
    }

    public static func decide(_ request: Request, facts: Facts, context: RequestContext) throws(LedgerError) -> KindDecision {
        guard let purchase = facts.purchase, purchase.id == request.purchase, let campaign = facts.catalog.campaigns[request.campaign] else {
            throw .nothingOwed
        }
        let points: Points, recorded: Earn.Recorded, terms: LotEvents.Terms?
        do {
            points = try owed(campaign, purchase: purchase, credits: facts.credits, refunds: facts.refunds, catalog: facts.catalog)
            recorded = try Earn.recorded(purchase)
            terms = try LotEvents.terms(of: purchase).first
        } catch {
            throw .unreadableEntry("\(error)")
        }
        guard points > .zero, let terms else { throw .nothingOwed }
        var writer = DetailsWriter()
        EntryLinks.add(link(request.receipt), to: &writer)
        EntryLinks.add(creditsLink(purchase.id), to: &writer)
        LotEvents.add(LotEvents.Terms(move: 0, maturesAt: max(context.now, terms.maturesAt), expiresAt: terms.expiresAt, policy: terms.policy,
                                      green: campaign.green), to: &writer)
        writer.text(Tag.campaign, request.campaign.rawValue)
        writer.text(Tag.receipt, request.receipt.rawValue)
        writer.number(Tag.points, points.value)
        writer.text(Tag.purchase, purchase.id.description)
        if purchase.timestamp.wallMilliseconds < campaign.publishedAt { writer.text(Tag.backdateReason, campaign.backdateReason) }
        // An auto-pooled earning's credit goes to the pool, recorded as the member's too.
        if let member = recorded.member { LotEvents.addSubject(member, to: &writer) }
        let credited = LedgerAccount(recorded.customer)
        let move = Move(debit: .issued(by: context.node, in: CalendarMonth(containing: context.now)), credit: credited, amount: points)
        let repayment = DebtRepayment.moves(of: credited, repaying: min(points, facts.debt), store: context.node)
        // Inside a return window the credit's lot is pending: the repayment takes it first.
        if !repayment.isEmpty, terms.maturesAt > context.now {
            LotEvents.addPreferring(IdempotencyKey(scope: scope, id: idempotencyID(request)).description, to: &writer)
        }
        return KindDecision(moves: [move] + repayment, details: writer.details)
    }

    public static func response(_ entry: LedgerEntry, replayed: Bool) throws(DecodingError) -> [UInt8] {
        Array(JSONValue.object(try historyFields(entry).merging(["entry_id": .string(entry.id.description)]) { $1 }).serialized.utf8)
    }

    public static func historyFields(_ entry: LedgerEntry) throws(DecodingError) -> [String: JSONValue] {
        let reader = try entry.details.reader()
        var fields: [String: JSONValue] = ["campaign_id": .string(try reader.text(Tag.campaign) ?? ""), "receipt_id": .string(try reader.text(Tag.receipt) ?? ""),
                                           "points": .integer(try reader.number(Tag.points) ?? 0)]
        if let reason = try reader.text(Tag.backdateReason) { fields["backdate_reason"] = .string(reason) }
        return fields
    }

    /// The points a credit gave, and whether they are green.
    /// The receipt a credit names.
    static func receipt(of credit: LedgerEntry) -> ReceiptID? {
        guard credit.code == code, let text = try? credit.details.reader().text(Tag.receipt) else { return nil }
        return try? ReceiptID(validating: text)
    }

    public static func credited(_ entry: LedgerEntry) throws(DecodingError) -> (points: Points, green: Bool) {
        (Points(try entry.details.reader().number(Tag.points) ?? 0), try LotEvents.terms(of: entry).first?.green ?? false)
    }
}

/// Which late campaign credits a store owes: for every campaign, its own purchases in the
/// campaign's window that the campaign applies to and that earned less than it gives. Pure over
/// the facts: the node runs it for each campaign whose definition it has not swept yet (new,
/// end moved, withdrawn), page by page, the simulation whenever a node's catalog changes.
public enum LateCampaigns {
    /// Purchases read per page: a campaign whose window holds a year of a store's purchases is
    /// swept in pages, never held in memory at once.
    public static let page = 1_000

    /// The campaigns `origin` may owe credits for: those for its store, or only those in `only`.
    public static func campaigns(in catalog: Catalog, for origin: NodeID, only: Set<CampaignID>? = nil) -> [Campaign] {
        catalog.campaignsInIDOrder.filter { campaign in
            (campaign.stores.isEmpty || campaign.stores.contains(origin)) && only.map({ $0.contains(campaign.id) }) != false
                && !campaign.activeWindow.isEmpty
        }
    }

    /// The credits `campaign` owes `origin`'s purchases in its window with sequences after
    /// `after`, read from at most `limit` of them; `next` is where the next page starts (nil:
    /// none left).
    public static func owed(_ campaign: Campaign, by origin: NodeID, from source: some FactsSource, catalog: Catalog,
                            after: Int64 = 0, limit: Int = page) throws -> (writes: [PreparedWrite], next: Int64?) {
        let purchases = try source.entries(coded: Earn.code, of: origin, during: campaign.activeWindow, after: after, limit: limit)
        var writes: [PreparedWrite] = []
        for purchase in purchases {
            // Rung up with the campaign known: it applied then (or owes nothing).
            guard let receipt = try? ReceiptID(validating: purchase.idempotencyKey.id) else { continue }
            let credits = try source.linkedEntries(CampaignCredit.creditsLink(purchase.id))
            let refunds = try RefundCondition.standing(of: purchase, from: source)
            // An entry that does not read (a newer release's format) is skipped, not a stop.
            if let owed = try? CampaignCredit.owed(campaign, purchase: purchase, credits: credits, refunds: refunds, catalog: catalog), owed > .zero {
                writes.append(PreparedWrite(CampaignCredit.self, CampaignCredit.Request(campaign: campaign.id, receipt: receipt, purchase: purchase.id)))
            }
        }
        return (writes, purchases.count < limit ? nil : purchases.last?.id.sequence)
    }

    /// Every credit `origin` should write now, as prepared writes: for every campaign, or only
    /// those in `only`.
    public static func owed(by origin: NodeID, from source: some FactsSource, only: Set<CampaignID>? = nil) throws -> [PreparedWrite] {
        let catalog = try source.catalog()
        var writes: [PreparedWrite] = []
        for campaign in campaigns(in: catalog, for: origin, only: only) {
            var after: Int64? = 0
            while let start = after {
                let page = try owed(campaign, by: origin, from: source, catalog: catalog, after: start)
                writes += page.writes
                after = page.next
            }
        }
        return writes
    }
}
