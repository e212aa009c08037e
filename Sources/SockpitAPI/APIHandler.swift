import Logging
import SockpitCore
import SockpitContract

/// Implements the generated `APIProtocol`: each operation translates between the API schemas and
/// `SockpitCore`, nothing more. Operations live in `APIHandler+<Area>.swift` files.
struct APIHandler: APIProtocol {
    let runtime: SockpitRuntime
    let logger: Logger
    /// Whether every operation but the public ones needs the bearer token (health says so).
    let tokenRequired: Bool
    /// Rendered lines of recent events, shared by the event streams.
    let eventLines = EventLineCache()

    /// Creates the handler over the domain runtime.
    init(runtime: SockpitRuntime, logger: Logger, tokenRequired: Bool) {
        self.runtime = runtime
        self.logger = logger
        self.tokenRequired = tokenRequired
    }
}
