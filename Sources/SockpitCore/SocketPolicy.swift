/// The rules and limits the socket registry enforces; built from the configuration at start and shown in
/// capabilities.
public struct SocketPolicy: Sendable {
    /// Which addresses connect and send-to may reach.
    public var targets: TargetPolicy
    /// Where Unix filesystem names live.
    public var unixPaths: UnixPathConfinement
    /// Most managed sockets open at once.
    public var maxOpenSockets: Int
    /// Largest payload of one send.
    public var maxSendBytes: Int
    /// Largest `max_bytes` of one receive.
    public var maxReceiveBytes: Int
    /// Longest wait of one operation: a larger `timeout_ms` is capped to it (like a long-poll maximum).
    public var maxWait: Duration
    /// The network namespaces sockets and probes may be made in.
    public var namespaces: Namespaces
    /// What raw IP sockets may do.
    public var raw: RawSocketPolicy

    /// Creates a policy.
    public init(targets: TargetPolicy, unixPaths: UnixPathConfinement, maxOpenSockets: Int = 1024,
                maxSendBytes: Int = 256 << 10, maxReceiveBytes: Int = 1 << 20, maxWait: Duration = .seconds(300),
                namespaces: Namespaces = Namespaces(allowed: []), raw: RawSocketPolicy = RawSocketPolicy()) {
        self.namespaces = namespaces
        self.raw = raw
        self.maxWait = maxWait
        self.targets = targets
        self.unixPaths = unixPaths
        self.maxOpenSockets = maxOpenSockets
        self.maxSendBytes = maxSendBytes
        self.maxReceiveBytes = maxReceiveBytes
    }
}

