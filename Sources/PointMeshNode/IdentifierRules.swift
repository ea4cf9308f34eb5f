import PointMeshCore

/// The core's identifier protocol, named here to keep it apart from Foundation's types.
typealias PointMeshCoreIdentifier = PointMeshCore.Identifier

/// Ids taken from URL paths, refused in the contract's terms.
enum IdentifierRules {
    /// Validates an id taken from a URL path.
    static func pathParameter<ID: PointMeshCoreIdentifier>(_ text: String?, name: String) throws(APIError) -> ID {
        do {
            return try ID(validating: text ?? "")
        } catch {
            throw .invalidField(name, IdentifierError.explain(error))
        }
    }
}
