import PointMeshCommandLine
import PointMeshNode

/// `pointmesh openapi`: prints the API's OpenAPI document (what `docs/openapi.json` holds).
enum OpenAPICommand: Command {
    static let name = "openapi"
    static let summary = "print the HTTP API's OpenAPI 3.1 document"
    static let options: [Option] = []
    static let forms = [""]
    static let description = """
        Prints the HTTP API's OpenAPI 3.1 document (what docs/openapi.json holds):
        `pointmesh openapi > docs/openapi.json`.
        """

    static func run(_ arguments: CommandLineArguments) throws -> Int32 {
        print(APIDescription.json)
        return 0
    }
}
