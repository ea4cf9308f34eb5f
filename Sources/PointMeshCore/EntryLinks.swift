/// Links let a kind find the entries about something (a refund finds earlier refunds of its
/// receipt) without a column per kind. A link is a details field with tag 0, the same for
/// every kind, so the store indexes links of kinds it does not know yet too.
public enum EntryLinks {
    public static let tag: UInt64 = 0

    /// The links `details` declares.
    public static func of(_ details: EntryDetails) -> [String] {
        DetailsReader(details.bytes).values(tag).compactMap { String(validating: $0, as: UTF8.self) }
    }

    /// Declares `link` in `writer`.
    public static func add(_ link: String, to writer: inout DetailsWriter) {
        writer.text(tag, link)
    }
}
