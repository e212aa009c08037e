import FoundationEssentials
import Logging
public import OpenAPIRuntime

extension APIHandler {
    /// Registers every operation on `transport`, behind the problem, auth and JSON-body middlewares.
    public func register(on transport: any ServerTransport, token: String?) throws {
        try registerHandlers(
            on: transport,
            serverURL: URL(string: "/")!,
            configuration: Configuration(
                dateTranscoder: RFC3339Transcoder(),
                jsonEncodingOptions: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
            middlewares: [ProblemMiddleware(logger: logger), AuthMiddleware(token: token), JSONBodyMiddleware()]
        )
    }
}
