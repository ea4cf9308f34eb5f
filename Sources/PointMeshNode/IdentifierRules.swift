import PointMeshCore

/// The core's identifier protocol, named here to keep it apart from Foundation's types.
typealias PointMeshCoreIdentifier = PointMeshCore.Identifier

/// Error messages for refused ids, in the contract's terms.
enum IdentifierRules {
    static func explain(_ error: IdentifierError) -> String {
        switch error {
        case .empty: "must not be empty"
        case .tooLong(let length): "must be at most \(maximumIdentifierLength) characters, got \(length)"
        case .invalidCharacter(let character):
            "may contain only A-Z a-z 0-9 . _ : - (found \(character.debugDescription))"
        }
    }

    /// Validates an id taken from a URL path.
    static func pathParameter<ID: PointMeshCoreIdentifier>(_ text: String?, name: String) throws(APIError) -> ID {
        do {
            return try ID(validating: text ?? "")
        } catch {
            throw .invalidField(name, explain(error))
        }
    }
}
