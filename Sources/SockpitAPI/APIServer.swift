import FoundationEssentials
public import Logging
public import OpenAPIRuntime
public import SockpitCore

/// The API's operations, for the one place that serves them (SockpitServer). The handler and the contract's
/// generated types stay inside this module and SockpitContract.
public enum APIOperations {
    /// Registers every operation on `transport`, behind the problem, auth, JSON-body and Accept middlewares.
    public static func register(_ runtime: SockpitRuntime, on transport: any ServerTransport, token: String?, logger: Logger) throws {
        try APIHandler(runtime: runtime, logger: logger, tokenRequired: token != nil).registerHandlers(
            on: transport,
            serverURL: URL(string: "/")!,
            configuration: Configuration(
                dateTranscoder: RFC3339Transcoder(),
                jsonEncodingOptions: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
            middlewares: [ProblemMiddleware(logger: logger), AuthMiddleware(token: token), JSONBodyMiddleware(), AcceptMiddleware(),
                          HeaderValuesMiddleware()]
        )
    }
}
