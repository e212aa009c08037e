import Logging
import SockpitCore
import SockpitContract

/// Implements the generated `APIProtocol`: each operation translates between the API schemas and
/// `SockpitCore`, nothing more. Operations live in `APIHandler+<Area>.swift` files.
struct APIHandler: APIProtocol {
    let runtime: SockpitRuntime
    let logger: Logger
    /// Rendered lines of recent events, shared by the event streams.
    let eventLines = EventLineCache()

    /// Creates the handler over the domain runtime.
    init(runtime: SockpitRuntime, logger: Logger) {
        self.runtime = runtime
        self.logger = logger
    }
}
