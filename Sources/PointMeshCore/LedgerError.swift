/// Why the ledger refused a write. Each case is something a caller can act on; the HTTP edge
/// maps them to statuses and error codes in one place.
public enum LedgerError: Error, Hashable, Sendable {
    /// The id was used before for a write with a different body.
    case idempotencyConflict(IdempotencyKey)
    /// The account holds fewer points than the redemption asks for.
    case insufficientPoints(account: AccountID, balance: Points, requested: Points)
    /// The balance covers the debit but this node holds too few of the account's spending
    /// rights, and the holders did not grant them in time: `servable` is what it can spend now.
    case insufficientPointsOffline(account: AccountID, servable: Points, requested: Points)
    /// A refund names a receipt this node holds no purchase for.
    case receiptNotFound(ReceiptID)
    /// A refund would take cumulative refunds of a receipt past its purchase amount.
    case refundExceedsPurchase(receipt: ReceiptID, remaining: Fen)
    /// An expiry policy version would shorten validity (compared with `shortens`) with under 30
    /// days' notice: it could take effect at `earliest` at the soonest.
    case noticeTooShort(version: RequestID, shortens: RequestID, earliest: Int64)
    /// A batch names an account no entry on this node concerns (`field` is where).
    case unknownAccount(AccountID, field: String)
    /// A compensation by expiry range alone matched more accounts than one request may hold.
    case tooManyAccounts(found: Int, limit: Int)
    /// The account is frozen (fraud hold): it can't redeem or transfer.
    case accountFrozen(AccountID, since: Int64?)
    /// A freeze of an account that is frozen already.
    case alreadyFrozen(AccountID)
    /// An unfreeze of an account that is not frozen.
    case notFrozen(AccountID)
    /// A join of a family pool as a member.
    case poolCannotBeMember(AccountID)
    /// A join while the customer is in another family.
    case alreadyInFamily(AccountID, family: FamilyID)
    /// A join or leave that the customer's membership already reflects: nothing to write, the
    /// request succeeds as it stands (a retried PUT or DELETE).
    case membershipUnchanged
    /// A leave of, or a look-up of, a family no customer ever joined.
    case unknownFamily(FamilyID)
    /// A leave of a family the customer is not in.
    case notAMember(AccountID, family: FamilyID)
    /// A transfer or pool redemption between accounts that are not in one family.
    case notSameFamily(AccountID, AccountID, fromFamily: FamilyID?, toFamily: FamilyID?)
    /// A transfer party joined the family too recently: transfers stand from `until` on.
    case coolingOff(AccountID, family: FamilyID, until: Int64)
    /// A transfer from an account to itself.
    case sameAccount(AccountID)
    /// A transfer whose points span more expiry dates than one entry carries.
    case tooManyLots(AccountID, dates: Int, limit: Int)
    /// A redemption from a family pool without `member_id`.
    case memberRequired(pool: AccountID)
    /// A campaign, reward or other definition (`kind`) with this id does not exist.
    case unknownDefinition(String, String)
    /// A definition (`kind`, id) was withdrawn and can't be changed or used.
    case definitionWithdrawn(String, String)
    /// A green campaign lists a category that is not marked green (`field` names the list entry).
    case unknownGreenCategory(CategoryID, field: String)
    /// A definition names a store that is no node of the chain this node knows (or a retired one).
    case unknownNode(NodeID, field: String)
    /// A new version of a campaign changes more than its name and end.
    case campaignTermsFixed(CampaignID)
    /// A new campaign starts before now without saying why.
    case backdateReasonRequired(CampaignID, startsAt: Int64)
    /// A redemption of a reward that is not active now (outside its window, or withdrawn).
    case rewardUnavailable(RequestID)
    /// A redemption names a reward and points that differ from its cost.
    case pointsMismatch(reward: RequestID, cost: Points, requested: Points)
    /// A redemption of a bill-deduction reward without the bill's amount.
    case missingBill(RequestID)
    /// A redemption of a bill-deduction reward without the most points it may spend.
    case missingOffer(RequestID)
    /// A green-only reward costs more green points than the account can spend.
    case insufficientGreenPoints(account: AccountID, green: Points, requested: Points)
    /// An earning would take a budget past its limit; `left` is what remains.
    /// `held`: `left` is the part of a chain budget this node holds as rights to issue.
    case budgetExhausted(scope: BudgetScope, month: CalendarMonth, left: Points, requested: Points, held: Bool = false)
    /// A field that the request may carry, but not in this case (`why` says which case).
    case fieldNotApplicable(field: String, why: String)
    /// A late campaign credit with nothing to credit (it was credited, or the campaign does
    /// not apply): nothing is written.
    case nothingOwed
    /// A rights grant by a node that holds no unexpired lot of the account: nothing is written.
    case noRightsHeld(AccountID)
    /// An issuance grant by a node that holds none of the month's rights to issue it could
    /// hand on (`RightsToIssue.grantable`): nothing is written.
    case noRightsToIssueHeld(CalendarMonth)
    /// A write (`operation`: a kind's name, or a route's operation) that a node of `role` may not
    /// originate (`EntryKindRule.originators`): only HQ's node writes it.
    case hqOnly(operation: String, role: NodeRole)
    /// A stored entry the decision needed does not read as its kind's (written by a release
    /// that disagrees on the kind's format, or damaged). Only this write is refused.
    case unreadableEntry(String)
}
