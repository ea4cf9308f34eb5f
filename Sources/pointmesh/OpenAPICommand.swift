import PointMeshCommandLine
import PointMeshNode

/// `pointmesh openapi`: prints the API's OpenAPI document (what `docs/openapi.json` holds).
enum OpenAPICommand: Command {
    static let name = "openapi"
    static let summary = "print the HTTP API's OpenAPI 3.1 document"
    static let usage = "Usage: pointmesh openapi > docs/openapi.json"
    static let valued: Set<String> = []
    static let switches: Set<String> = []

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        print(APIDescription.json)
        return 0
    }
}
