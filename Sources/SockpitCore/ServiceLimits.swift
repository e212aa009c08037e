/// The limits the service runs with, shown in capabilities so that clients know them before hitting them.
public struct ServiceLimits: Sendable, Equatable {
    /// Largest accepted HTTP request body in bytes (larger ones get 413).
    public var maxRequestBodyBytes: Int
    /// Most simultaneous HTTP connections.
    public var maxConnections: Int
    /// HTTP worker threads.
    public var httpThreads: Int
    /// Most managed sockets open at once.
    public var maxOpenSockets: Int
    /// Largest payload of one send.
    public var maxSendBytes: Int
    /// Largest `max_bytes` of one receive.
    public var maxReceiveBytes: Int
    /// Longest wait of one operation, in milliseconds; larger `timeout_ms` values are capped to it.
    public var maxWaitMs: Int

    /// Creates the limits; the defaults are the service's embedded defaults.
    public init(maxRequestBodyBytes: Int = 1 << 20, maxConnections: Int = 1000, httpThreads: Int = 2, maxOpenSockets: Int = 1024,
                maxSendBytes: Int = 256 << 10, maxReceiveBytes: Int = 1 << 20, maxWaitMs: Int = 300_000) {
        self.maxWaitMs = maxWaitMs
        self.maxOpenSockets = maxOpenSockets
        self.maxSendBytes = maxSendBytes
        self.maxReceiveBytes = maxReceiveBytes
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.maxConnections = maxConnections
        self.httpThreads = httpThreads
    }
}
