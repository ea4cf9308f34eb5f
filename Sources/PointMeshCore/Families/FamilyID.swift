/// A family: customers who pool points and may gift points to each other (domain.md,
/// "Families"). Its pool is the account `family:{id}`.
public struct FamilyID: Identifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    static let poolPrefix = "family:"
    /// The longest family id whose pool account id still fits the id length limit.
    public static let maximumLength = maximumIdentifierLength - poolPrefix.count

    /// Refuses a family id too long for its pool's id (`family:{id}`) to be a valid id.
    public static func checkPoolFits(_ family: FamilyID, field: String = "family_id") throws(RequestError) {
        guard family.rawValue.count <= maximumLength else {
            throw .invalidField(field, "at most \(maximumLength) characters, so that its pool id `family:{family_id}` is a valid id")
        }
    }

    /// The family's pool account.
    public var pool: AccountID { AccountID(unchecked: Self.poolPrefix + rawValue) }

    /// The family whose pool `account` is, if it is one.
    public static func owning(pool account: AccountID) -> FamilyID? {
        guard account.rawValue.hasPrefix(poolPrefix), account.rawValue.count > poolPrefix.count else { return nil }
        return FamilyID(unchecked: String(account.rawValue.dropFirst(poolPrefix.count)))
    }
}
