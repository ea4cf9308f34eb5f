import PointMeshCore

/// What a node asks a holder for in the spending-rights exchange.
public enum RightsSubject: Hashable, Comparable, Sendable {
    /// An account's spending rights: every lot of it the holder holds (`RightsGrant`).
    case account(AccountID)
    /// Rights to issue in a month under the chain budget, as many points as named, as far as
    /// the holder hands them on (`IssuanceGrant`, `RightsToIssue.grantable`).
    case issuing(CalendarMonth, Points)

    public static func < (lhs: RightsSubject, rhs: RightsSubject) -> Bool {
        switch (lhs, rhs) {
        case (.account(let a), .account(let b)): a < b
        case (.account, .issuing): true
        case (.issuing, .account): false
        case (.issuing(let a, let p), .issuing(let b, let q)): (a, p) < (b, q)
        }
    }
}

/// A subject a node asks a holder for, with the asking node's id for the request (a grant
/// answers one request once).
public struct RightsWanted: Hashable, Sendable {
    public var subject: RightsSubject
    public var request: RequestID

    public init(_ subject: RightsSubject, request: RequestID) {
        self.subject = subject
        self.request = request
    }

    public init(account: AccountID, request: RequestID) { self.init(.account(account), request: request) }

    /// The grant a holder writes for it, to `receiver`.
    public func grant(to receiver: NodeID) -> PreparedWrite {
        switch subject {
        case .account(let account):
            PreparedWrite(RightsGrant.self, RightsGrant.Request(account: account, receiver: receiver, request: request))
        case .issuing(let month, let points):
            PreparedWrite(IssuanceGrant.self, IssuanceGrant.Request(month: month, receiver: receiver, points: points, request: request))
        }
    }

    /// Most subjects one request names.
    public static let maximumPerRequest = 1_000

    /// The codes of the entries that answer wants: what a `rights_grants` message may carry.
    public static let grantCodes: Set<EntryCode> = [RightsGrant.code, IssuanceGrant.code]

    /// The grants for `wanted`, each written by `write` (the holder's own write path): the
    /// entry written, or the one a repeated request already wrote; a subject the holder holds
    /// nothing of (or nothing to hand on) is skipped.
    public static func grants(_ wanted: [RightsWanted], to receiver: NodeID, writing write: (PreparedWrite) throws -> WriteDecision) throws -> [LedgerEntry] {
        var granted: [LedgerEntry] = []
        for item in wanted {
            do {
                switch try write(item.grant(to: receiver)) {
                case .append(let entry), .replay(let entry): granted.append(entry)
                }
            } catch LedgerError.noRightsHeld {
                continue
            } catch LedgerError.noRightsToIssueHeld {
                continue
            }
        }
        return granted
    }
}

/// The spending-rights exchange (docs/rules.md, "Spending rights"): the initiator names the
/// accounts whose rights it wants, and the months it wants rights to issue in (none, in a round
/// with nothing to ask); the responder grants each it holds some of, writing a `RightsGrant`
/// or an `IssuanceGrant` entry for each, and sends the entries back; the initiator stores them, so the rights are its own before the session ends. A
/// grant the initiator cannot store yet (it lacks earlier entries of the giver) reaches it by
/// replication, like any entry.
public struct RightsExchange: Sendable {
    public let role: GossipSession.Role
    /// What the initiator asks for.
    public let wanted: [RightsWanted]
    /// The node at the other end, as the handshake proved it; a responder grants only to a
    /// known peer.
    public let peer: NodeID?
    public private(set) var isFinished = false
    /// Grants the initiator received, and how many of them it stored.
    public private(set) var grantsReceived = 0, grantsStored = 0
    /// Grants the responder wrote.
    public private(set) var grantsWritten = 0

    public init(role: GossipSession.Role, wanted: [RightsWanted] = [], peer: NodeID? = nil) {
        self.role = role
        self.wanted = wanted
        self.peer = peer
    }

    public mutating func handle(_ event: GossipEvent) throws(GossipProtocolError) -> [GossipDirective] {
        switch (role, event) {
        case (.initiator, .start) where !isFinished:
            return [.send(.rightsRequest(Array(wanted.prefix(RightsWanted.maximumPerRequest))))]
        case (.initiator, .received(.rightsGrants(let entries))) where !isFinished && grantsReceived == 0:
            guard entries.count <= wanted.count, entries.allSatisfy({ RightsWanted.grantCodes.contains($0.code) }) else {
                throw .unexpected("rights_grants with \(entries.count) entries for \(wanted.count) accounts asked, or not grants")
            }
            grantsReceived = entries.count
            guard !entries.isEmpty else {
                isFinished = true
                return [.finished]
            }
            // Grants are the giver's own entries, straight from it.
            return [.apply(SealedEntries(entries), from: peer)]
        case (.initiator, .applied(let outcome)) where !isFinished && grantsReceived > 0:
            grantsStored = outcome.stored
            isFinished = true
            return [.finished]
        case (.responder, .received(.rightsRequest(let wanted))) where !isFinished:
            guard let peer, !wanted.isEmpty else {
                isFinished = true
                return [.send(.rightsGrants([])), .finished]
            }
            return [.grantRights(wanted, to: peer)]
        case (.responder, .granted(let entries)) where !isFinished:
            grantsWritten = entries.count
            isFinished = true
            return [.send(.rightsGrants(entries)), .finished]
        default:
            throw .outOfTurn(event, while: "in the spending-rights exchange")
        }
    }
}
