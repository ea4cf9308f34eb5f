import PointMeshCore

/// The fields of the read endpoints' answers. `APIDescription` generates their schemas from
/// these, and the end-to-end API test checks every live answer against them, so a field added to
/// a body without its description (or the reverse) fails a test.
enum ResponseSchemas {
    static let account: [FieldSpec] = [
        FieldSpec("account_id", .id, "The account."),
        FieldSpec("balance", .integer, "Spendable points."),
        FieldSpec("green_balance", .integer, "The green part of the spendable points (what a green-only reward may take)."),
        FieldSpec("debt", .integer, "Points owed after refunds of spent points; later earnings repay it first."),
        FieldSpec("pending", .integer, "Points inside a return window: not spendable yet, not part of `balance`."),
        FieldSpec("overdraft", .integer, "Points spent past the spending rights held, under a store's offline allowance (already taken off `balance`); later credits repay it first."),
        .optional("pending_until", .time, "When the first pending points become spendable."),
        FieldSpec("expired_total", .integer, "Points that expired unspent, so far."),
        FieldSpec("policy", .object(policy), "The expiry policy in force now (lots keep the version they were earned under)."),
        FieldSpec("family_id", .nullableText, "The family the customer belongs to (for a pool `family:{id}`, its own); null when none."),
        FieldSpec("frozen", .boolean, "Whether the account is frozen (fraud hold): it keeps earning but can't redeem."),
        .optional("frozen_since", .time, "For a frozen account: since when."),
        .optional("frozen_reason", .text, "For a frozen account: why."),
        .optional("frozen_evidence_ref", .text, "For a frozen account: the evidence."),
        .optional("frozen_by", .text, "For a frozen account: the operator who froze it."),
        FieldSpec("expiring", .array(of: [
            FieldSpec("points", .integer, "Points in the lot."), FieldSpec("expires_at", .time, "When they expire."),
        ], maximumCount: 1_000), "The next spendable points to expire, by expiry instant, soonest first (at most 10)."),
        .optional("rights", .array(of: [
            FieldSpec("node_id", .id, "A node holding spending rights."), FieldSpec("points", .integer, "The spendable points it may spend."),
        ], maximumCount: 10_000), "Not for clerks: which nodes hold the rights to spend `balance` (before debt and overdraft), by node (docs/rules.md, \"Spending rights\")."),
    ]

    static let campaigns: [FieldSpec] = [
        FieldSpec("campaigns", .array(of: CatalogAnswers.campaign, maximumCount: 100_000), "Every campaign, by id."),
        FieldSpec("green_categories", .textArray, "The categories whose purchases earn green points."),
    ]
    static let rewards: [FieldSpec] = [
        FieldSpec("rewards", .array(of: CatalogAnswers.reward + [FieldSpec("available", .boolean, "Whether it can be redeemed now.")], maximumCount: 100_000),
                  "Every reward, by id."),
    ]
    static let budgets: [FieldSpec] = [
        FieldSpec("month", .text, "The month."),
        FieldSpec("budgets", .array(of: [
            FieldSpec("scope", .text, "`chain` or a store's node id."), FieldSpec("points", .integer, "The budget."),
            FieldSpec("used", .integer, "Points issued against it in the month, as this node knows."), FieldSpec("left", .integer, "What remains."),
            .optional("rights", .array(of: [
                FieldSpec("node_id", .id, "A node holding rights to issue (or owing some, below zero, after overrides)."),
                FieldSpec("points", .integer, "What it may still issue without asking."),
            ], maximumCount: 10_000), "The chain's row: which nodes hold its rights to issue, by node (docs/rules.md, \"The chain budget as rights to issue\")."),
        ], maximumCount: 10_000), "Each scope with a budget this month."),
    ]

    static let family: [FieldSpec] = [
        FieldSpec("family_id", .id, "The family."), FieldSpec("members", .textArray, "Its members now, in id order."),
        FieldSpec("auto_pooling", .textArray, "The members whose earnings go to the pool."),
        FieldSpec("pool_account", .id, "The pool's account id, `family:{family_id}`."),
        FieldSpec("pool_balance", .integer, "The pool's spendable points."),
    ]

    static let policy: [FieldSpec] = [
        FieldSpec("version_id", .id, "The version."),
        FieldSpec("rule", .text, "`months_end` or `days`."),
        .optional("months", .integer, "N for `months_end`: points expire at the end of the Nth full month after earning."),
        .optional("days", .integer, "N for `days`: points expire N days after earning."),
        FieldSpec("description", .text, "The rule in words."),
        FieldSpec("effective_at", .nullableText, "From when it governs new lots (RFC 3339); null for the standard policy."),
        FieldSpec("published_at", .nullableText, "When it was published (RFC 3339); null for the standard policy."),
    ]

    static let policies: [FieldSpec] = [
        FieldSpec("versions", .array(of: policy, maximumCount: 100_000), "Every version that stands, the standard one first."),
        FieldSpec("void_versions", .array(of: policy, maximumCount: 100_000),
                  "Versions published at nodes cut off from each other that together would shorten validity with under 30 days' notice: they never take effect."),
        FieldSpec("in_force", .object(policy), "The version governing lots earned now."),
    ]

    static let lots: [FieldSpec] = [
        FieldSpec("lots", .array(of: [
            FieldSpec("account_id", .id, "The customer."), FieldSpec("points", .integer, "Points expiring together."),
            FieldSpec("expires_at", .time, "When."),
        ], maximumCount: LedgerAPI.maximumReminderPage), "By account, then expiry instant."),
        .optional("next_cursor", .text, "Pass as `after` for the next page; absent on the last page."),
    ]

    static let clashes: [FieldSpec] = [
        FieldSpec("clashes", .array(of: [
            FieldSpec("key", .text, "The idempotency key: scope and id (`redemption:Q-1`)."),
            FieldSpec("scope", .text, "What kind of id (`receipt`, `refund`, `redemption`, …)."), FieldSpec("id", .text, "The client's id."),
            FieldSpec("entries", .array(of: [
                FieldSpec("entry_id", .text, "The entry."), FieldSpec("origin", .text, "The node that acknowledged it."),
                FieldSpec("kind", .text, "The entry's kind."), FieldSpec("created_at", .time, "When it was decided."),
                FieldSpec("request_hash", .text, "SHA-256 of the request's canonical form: what tells the requests apart."),
            ], maximumCount: 10_000), "The entries that count under the key, earliest first."),
        ], maximumCount: LedgerAPI.maximumReminderPage), "By key."),
        .optional("next_cursor", .text, "Pass as `after` for the next page; absent on the last page."),
    ]

    static let reminders: [FieldSpec] = [
        FieldSpec("reminders", .array(of: [
            FieldSpec("account_id", .id, "The customer."), FieldSpec("points", .integer, "Points expiring together."),
            FieldSpec("expires_at", .time, "When."), FieldSpec("within_days", .integer, "The window asked for; acknowledge with it."),
        ], maximumCount: LedgerAPI.maximumReminderPage), "By account, then expiry instant."),
        FieldSpec("within_days", .integer, "The window asked for."),
        .optional("next_cursor", .text, "Pass as `after` for the next page; absent on the last page."),
    ]

    static let move: [FieldSpec] = [
        FieldSpec("debit", .text, "The account points leave (system accounts start with `@`)."),
        FieldSpec("credit", .text, "The account points reach."),
        FieldSpec("amount", .integer, "How many."),
        FieldSpec("asset", .text, "`points`, `debt`, or `asset-N` for one a newer release added."),
        FieldSpec("phase", .text, "`posted`, `pending`, `post` or `void`."),
        .optional("pending_move", .text, "For `post` and `void`: the pending move, `origin:sequence#index`."),
    ]

    /// A history line: what every entry has, then what its kind adds (optional here).
    static let entry: [FieldSpec] = [
        FieldSpec("entry_id", .text, "`origin:sequence`."),
        .optional("origin", .id, "The node that wrote it (absent on an `expire` line, which is not an entry)."),
        .optional("sequence", .integer, "Its number at that node."),
        FieldSpec("kind", .text, "`earn`, `refund`, `redeem`, `compensation`, `expire` (points of a lot that expired unspent, at its expiry instant), or `unknown-N` for a kind a newer release wrote."),
        FieldSpec("account_id", .id, "The account this history is of."),
        FieldSpec("created_at", .time, "When the entry was written at its origin."),
        FieldSpec("balance_delta", .integer, "Change to the account's points."),
        FieldSpec("debt_delta", .integer, "Change to the account's debt."),
        FieldSpec("duplicate", .boolean, "True for a losing copy of a write made at two nodes: it counts for nothing."),
        FieldSpec("moves", .array(of: move, maximumCount: 1_000), "Every move of the entry."),
        .optional("made_by", .text, "The name of the token that made the write (on a node with --tokens-file)."),
        .optional("void", .boolean, "True for an entry the converged history voids: a transfer between customers who were not in one family at its instant, or a refund past what its purchase had left; it moves no points."),
        .optional("void_reason", .text, "Why it is void."),
        .optional("points", .integer, "The kind's amount: earned, reversed or spent."),
        .optional("receipt_id", .id, "Earn and refund: the receipt."),
        .optional("refund_id", .id, "Refund: its id."),
        .optional("request_id", .id, "Redemption: its id."),
        .optional("amount_fen", .integer, "Earn and refund: the amount in fen."),
        .optional("reward_id", .id, "Redemption: the reward."),
        .optional("member_id", .id, "Redemption: who redeemed from a pool."),
        .optional("lot_entry_id", .text, "Expire: the entry that credited the lot."),
        .optional("earned_at", .time, "Expire: when the lot was earned."),
        .optional("policy_version", .text, "Expire: the expiry policy version the lot was earned under."),
        .optional("evidence_ref", .text, "Freeze, unfreeze, deduction: the evidence."),
        .optional("operator", .text, "Freeze, unfreeze, deduction: the operator accountable."),
        .optional("batch_id", .id, "Compensation: the batch."),
        .optional("part", .integer, "Compensation: the part of the batch."),
        .optional("action", .text, "Compensation: `extend_expiry` or `grant`."),
        .optional("reason", .text, "Compensation, freeze, unfreeze, deduction: why."),
        .optional("reference", .text, "Compensation: the incident or decision."),
        .optional("days", .integer, "Compensation: days added to lots expiring in the range."),
        .optional("expiring_from", .time, "Compensation: the range's start."),
        .optional("expiring_to", .time, "Compensation: the range's end."),
        .optional("items", .array(of: [
            FieldSpec("sku", .id, "The product."), FieldSpec("category", .id, "Its category."), FieldSpec("amount_fen", .integer, "The line's amount."),
        ], maximumCount: Limits.maximumItems), "Earn: the receipt's lines."),
    ]

    static let entryPage: [FieldSpec] = [
        FieldSpec("account_id", .id, "The account."),
        FieldSpec("entries", .array(of: entry, maximumCount: LedgerAPI.maximumPageSize), "Newest first."),
        .optional("next_cursor", .text, "Pass as `before` for the next (older) page; absent on the last page."),
    ]

    static let feedPage: [FieldSpec] = [
        FieldSpec("entries", .array(of: [
            FieldSpec("cursor", .text, "Its position in this node's feed: pass as `after` to continue after it."),
            FieldSpec("entry_id", .text, "`origin:sequence`."), FieldSpec("origin", .id, "The store (node) that wrote it."),
            FieldSpec("sequence", .integer, "Its number at that node."), FieldSpec("kind", .text, "As in history."),
            FieldSpec("created_at", .time, "When it was written at its origin."),
            FieldSpec("duplicate", .boolean, "A losing copy of a write made at two nodes: it counts for nothing."),
            .optional("void", .boolean, "The converged history voids it (as in history): it moves nothing."),
            FieldSpec("moves", .array(of: move, maximumCount: 1_000), "Every move of the entry."),
            FieldSpec("accounts", .textArray, "The customer accounts (and pools) it moves."),
        ], maximumCount: LedgerAPI.maximumFeedPage), "Entries in the order this node stored them; each kind adds its history fields."),
        FieldSpec("next", .text, "The cursor to continue from: the last entry's, or `after` again (\"0\" from the start) when there is none."),
        FieldSpec("end", .text, "The last cursor now: the feed is read through when `next` equals it."),
    ]

    /// How complete a report is, per origin (`OriginFreshness`).
    static let freshness = FieldSpec("freshness", .array(of: [
        FieldSpec("node_id", .id, "An origin: this node, a peer, or a node whose entries it holds."),
        FieldSpec("newest_entry_at", .nullableText, "The newest entry held from it; null when none."),
        FieldSpec("contact", .choice(["local", "alive", "unreachable", "indirect"]), "This node itself, a peer reached lately, a peer out of reach, or known only by its entries."),
        FieldSpec("behind_seconds", .nullable(.integer), "Seconds since this node last held everything the origin had (null when unknown)."),
        FieldSpec("missing_entries", .nullable(.integer), "Entries of the origin a peer showed that this node lacks (null when unknown)."),
        FieldSpec("behind", .boolean, "The figures may lack some of the origin's entries: it is out of reach, or entries are missing."),
    ], maximumCount: 100_000), "How complete the figures are, per origin node.")

    static let liabilityReport: [FieldSpec] = [
        FieldSpec("as_of", .time, "The instant the figures are for."),
        FieldSpec("outstanding", .object([
            FieldSpec("points", .integer, "Spendable points customers and family pools hold: the sum of their balances."),
            FieldSpec("green_points", .integer, "The green part of `points`."),
            FieldSpec("pool_points", .integer, "The part of `points` family pools hold."),
            FieldSpec("pending_points", .integer, "Points inside a return window, not yet spendable."),
            FieldSpec("overspent_points", .integer, "Points spent beyond what accounts held (two cut-off stores spending the same points): taken off `points`, which `by_store` sums to before it."),
            FieldSpec("debt_points", .integer, "Points customers owe back."),
        ]), "What the chain owes."),
        FieldSpec("by_store", .array(of: [
            FieldSpec("store", .id, "The store whose entry credited the points."), FieldSpec("points", .integer, "Its part of the outstanding points."),
            FieldSpec("green_points", .integer, "Their green part."),
        ], maximumCount: 100_000), "Spendable points by issuing store."),
        FieldSpec("expiry_schedule", .array(of: [FieldSpec("month", .text, "`YYYY-MM`."), FieldSpec("points", .integer, "Points expiring in it.")],
                                            maximumCount: 12), "Points still to expire, by month: the month of `as_of` and the 11 after it."),
        FieldSpec("value", .nullable(.object([
            FieldSpec("version_id", .id, "The point value version."), FieldSpec("points", .integer, "How many points …"),
            FieldSpec("fen", .integer, "… are worth this many fen."),
            FieldSpec("breakage_rate", .nullableText, "Expected breakage, six decimals: points expired ÷ points credited, over the lots whose expiry fell in the year before `as_of`; null before any did."),
            FieldSpec("breakage_expired_points", .integer, "The rate's numerator."), FieldSpec("breakage_reached_points", .integer, "Its denominator."),
            FieldSpec("gross_fen", .integer, "Points owed (spendable and pending) in fen."),
            FieldSpec("liability_fen", .integer, "`gross_fen` less expected breakage: the liability finance books."),
        ])), "The liability in money; null until HQ publishes a point value (`PUT /v1/point-value`)."),
        freshness,
    ]

    static let activityRow: [FieldSpec] = [FieldSpec("key", .text, "The day (`YYYY-MM-DD`), store, campaign or reward (`points`: plain redemptions).")]
        + ActivityReport.Totals.columns.map { FieldSpec($0, .integer, "Points.") }
        + [FieldSpec("reward_kind", .nullableText, required: false, "By reward: the reward's kind.")]

    static let activityReport: [FieldSpec] = [
        FieldSpec("from", .time, "The period's start."), FieldSpec("to", .time, "Its end (excluded)."),
        FieldSpec("by", .text, "How rows are keyed."),
        FieldSpec("rows", .array(of: activityRow, maximumCount: 100_000), "By key."),
        FieldSpec("total", .object(activityRow), "Every row summed."),
        FieldSpec("budgets", .array(of: [
            FieldSpec("month", .text, "`YYYY-MM`."), FieldSpec("scope", .text, "`chain` or a store."), FieldSpec("points", .integer, "The budget."),
            FieldSpec("used", .integer, "Points issued against it."),
        ], maximumCount: 100_000), "Each budget of the months the period spans."),
        freshness,
    ]

    static let status: [FieldSpec] = [
        FieldSpec("node_id", .id, "This node."),
        FieldSpec("role", .text, "`store` or `hq`."),
        FieldSpec("version", .text, "The PointMesh release it runs."),
        FieldSpec("entries", .integer, "Entries held."),
        FieldSpec("digest", .text, "Equal on two nodes exactly when they hold the same entries."),
        FieldSpec("version_vector", .integerMap, "Per origin, the highest sequence held."),
        FieldSpec("peers", .array(of: [
            FieldSpec("node_id", .id, "The peer."),
            FieldSpec("address", .text, "Its gossip address."),
            FieldSpec("state", .text, "`alive`, `suspect` or `down`."),
            .optional("lag_entries", .integer, "Entries this node held that the peer lacked at the last exchange."),
            .optional("last_contact", .time, "The last successful exchange."),
            .optional("last_error", .text, "Why the last exchange failed, time first; absent once one succeeds."),
        ], maximumCount: 100_000), "Known peers."),
        FieldSpec("seeds", .array(of: [
            FieldSpec("address", .text, "The seed's gossip address."),
            .optional("last_error", .text, "Why reaching it failed."),
        ], maximumCount: 1_000), "`--seed` addresses not yet tied to a node id."),
        FieldSpec("retired", .textArray, "Retired node ids."),
        FieldSpec("healthy", .boolean, "False while writes fail for a storage reason."),
        .optional("storage_error", .text, "Why writes are failing."),
        .optional("storage_failing_since", .time, "Since when."),
        FieldSpec("gossip_refusals", .integer, "Gossip connections refused or failed authentication."),
        .optional("certificate_not_after", .time, "When the node's certificate (`--tls-cert`) ends; absent without one."),
        .optional("certificate_days_left", .integer, "Whole days until then; renew below 30."),
        .optional("stable_horizon", .time, "Every live node holds every entry stamped before this: what a store may fold. Absent until every member has reported what it holds over the same members; a node that is down and not retired holds it back."),
        FieldSpec("stable_horizon_waits_for", .textArray, "The members the horizon waits for: while it is absent, those that haven't reported over the members this node knows (this node included); once known, the member whose last report is oldest (a member down and not retired stays here). Empty before this node has reached a peer."),
    ]

    static let retirement: [FieldSpec] = [FieldSpec("retired", .id, "The retired node.")]
}
