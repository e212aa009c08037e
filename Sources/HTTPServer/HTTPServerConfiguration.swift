/// Settings of the HTTP listener.
public struct HTTPServerConfiguration: Sendable {
    /// Numeric IPv4 or IPv6 address to listen on (`localhost` means 127.0.0.1).
    public var host: String
    /// TCP port; 0 lets the kernel choose (read it back from `MicroHTTPDTransport.port`).
    public var port: Int
    /// libmicrohttpd worker threads (thread pool with epoll).
    public var threads: Int
    /// Largest accepted request body; larger ones are answered 413.
    public var maxRequestBodyBytes: Int
    /// Most simultaneous client connections.
    public var connectionLimit: Int
    /// Most simultaneous connections from one client address; nil: a quarter of `connectionLimit`. A client
    /// past it is disconnected at once, so that one address cannot take every slot from the others.
    public var connectionsPerClient: Int?
    /// Idle connections are closed after this many seconds of silence (between keep-alive requests, and while
    /// a response streams).
    public var connectionTimeoutSeconds: Int
    /// A connection that has not yet sent a whole request (headers and body) is closed after this many seconds
    /// of silence: one that connects and sends nothing, or stalls mid-request, frees its slot sooner than an
    /// idle keep-alive connection. At most `connectionTimeoutSeconds`. Also the idle timeout while the server is
    /// crowded (`crowdedConnections`).
    public var requestTimeoutSeconds: Int
    /// Bytes a streamed response may buffer ahead of a slow client before its producer waits.
    public var streamBufferBytes: Int
    /// Browser origins allowed to call the API cross-origin (CORS); empty turns CORS off.
    ///
    /// Each entry is a serialized origin such as `http://dash.example:3000` (scheme and host compared
    /// case-insensitively, the port exactly, a scheme's default port the same as none), or `*` for any origin.
    /// An entry that is not an origin makes `MicroHTTPDTransport.start()` throw.
    public var corsAllowedOrigins: [String]
    /// Host names (besides IP literals and `localhost`) a request's `Host` may carry; any other is answered 421,
    /// so that a web page cannot reach the API through DNS rebinding. Compared without the port, case-insensitively.
    public var allowedHosts: [String]
    /// Called once for every finished request, on a libmicrohttpd thread, whatever the log level: for metrics.
    ///
    /// It runs on the daemon's thread for every request, so it must be quick and must never block or wait.
    public var onRequestCompleted: (@Sendable (HTTPRequestSummary) -> Void)?

    /// Creates a configuration; the defaults are the service's embedded defaults (CORS off, no observer).
    public init(
        host: String = "127.0.0.1", port: Int = 8080, threads: Int = 2, maxRequestBodyBytes: Int = 1 << 20,
        connectionLimit: Int = 1000, connectionsPerClient: Int? = nil, connectionTimeoutSeconds: Int = 120,
        requestTimeoutSeconds: Int = 10, streamBufferBytes: Int = 256 << 10,
        corsAllowedOrigins: [String] = [], allowedHosts: [String] = [],
        onRequestCompleted: (@Sendable (HTTPRequestSummary) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.threads = threads
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.connectionLimit = connectionLimit
        self.connectionsPerClient = connectionsPerClient
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.streamBufferBytes = streamBufferBytes
        self.corsAllowedOrigins = corsAllowedOrigins
        self.allowedHosts = allowedHosts
        self.onRequestCompleted = onRequestCompleted
    }
}

extension HTTPServerConfiguration {
    /// From this many open connections on (nine tenths of the limit), a connection that finished a request idles
    /// only `requestTimeoutSeconds`, not `connectionTimeoutSeconds`: idle keep-alive connections give their slots
    /// back sooner, so that new clients find room when the limit is near.
    var crowdedConnections: Int { max(1, connectionLimit * 9 / 10) }

    /// `connectionsPerClient`, or a quarter of the connection limit (at least 1).
    var effectiveConnectionsPerClient: Int { connectionsPerClient ?? max(1, connectionLimit / 4) }
}
