import SocketKit

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

extension ServiceLimits {
    /// Descriptors kept beyond connections and sockets: the database and its readers, the WAL, listeners,
    /// probes in flight, the event loop's own.
    public static let reservedDescriptors = 256

    /// The fewest sockets each running probe must be able to hold (`claimDescriptors`).
    public static let minimumProbeShare = 16

    /// Makes sure this process may hold every connection and socket these limits allow at once, raising its soft
    /// `RLIMIT_NOFILE` if needed: a server that runs out of descriptors cannot even accept a connection to say
    /// so (libmicrohttpd spins on EMFILE), nor open a socket it was asked for.
    ///
    /// Probes get what is left, in equal shares: `probes` comes back with `maxConcurrency` cut to one share, so
    /// that `maxConcurrentProbes` probes at their largest concurrency never take a descriptor a connection or a
    /// managed socket needs. Throws, naming the flags, when the hard limit leaves less than
    /// `minimumProbeShare` per probe.
    public func claimDescriptors(probes: ProbeLimits) throws(SockpitError) -> ProbeLimits {
        let kept = maxConnections + maxOpenSockets + Self.reservedDescriptors
        let needed = kept + probes.maxConcurrentProbes * Self.minimumProbeShare
        let (soft, hard) = OpenFileLimit.raise(toAtLeast: kept + probes.maxConcurrentProbes * probes.maxConcurrency)
        guard soft >= needed else {
            throw SockpitError(.limit, "--max-connections \(maxConnections), --max-open-sockets \(maxOpenSockets) and "
                + "--max-concurrent-probes \(probes.maxConcurrentProbes) need \(needed) file descriptors with the "
                + "\(Self.reservedDescriptors) the service keeps and \(Self.minimumProbeShare) per probe, but this process may "
                + "open \(soft) (ulimit -n; hard limit \(hard)): lower them or raise the limit")
        }
        var probes = probes
        probes.maxConcurrency = min(probes.maxConcurrency, (soft - kept) / probes.maxConcurrentProbes)
        return probes
    }
}
