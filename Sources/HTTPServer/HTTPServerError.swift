/// Errors raised by the transport itself (not by handlers).
public enum HTTPServerError: Error, CustomStringConvertible, Sendable {
    /// The same method and path template was registered twice.
    case duplicateRoute(method: String, path: String)
    /// The listen address could not be parsed.
    case invalidListenAddress(String)
    /// libmicrohttpd refused to start (address in use, permission, ...).
    case startFailed(String)
    /// `start()` was called twice, or `register` after `start()`.
    case alreadyStarted
    /// An entry of `HTTPServerConfiguration.corsAllowedOrigins` is neither `*` nor an origin.
    case invalidCORSOrigin(String)
    /// An operation was registered that the declared lanes do not name.
    case undeclaredLane(method: String, path: String)
    /// Declared lanes name operations that were never registered.
    case unregisteredLanes([String])

    /// A one-line explanation for logs and the command line.
    public var description: String {
        switch self {
        case .duplicateRoute(let method, let path): "route \(method) \(path) is registered twice"
        case .invalidListenAddress(let text): "invalid listen address '\(text)': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
        case .startFailed(let reason): "HTTP server failed to start: \(reason)"
        case .alreadyStarted: "the HTTP server is already started"
        case .invalidCORSOrigin(let text): "invalid CORS origin '\(text)': expected '*' or SCHEME://HOST[:PORT], e.g. http://localhost:3000"
        case .undeclaredLane(let method, let path): "route \(method) \(path) is not in the declared lanes"
        case .unregisteredLanes(let routes): "declared lanes without a registered route: \(routes.joined(separator: ", "))"
        }
    }
}
