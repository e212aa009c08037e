/// One socket session as stored: plain values and `Detail`s, no domain types (the domain maps them).
public struct SocketRecord: Sendable, Equatable {
    /// Internal order; 0 until inserted.
    public var seq: Int64 = 0
    public var id: String
    public var family: String
    public var type: String
    public var `protocol`: String?
    public var label: String?
    public var state: String
    /// The local address, once bound.
    public var localAddress: Detail?
    /// The peer address, once connected or accepted.
    public var peerAddress: Detail?
    public var parentID: String?
    /// `SO_COOKIE` as decimal text: the kernel's id of the socket.
    public var cookie: String?
    /// `SO_PEERCRED` of a connected Unix socket: `{"pid", "uid", "gid"}`.
    public var peerCredentials: Detail?
    /// The network namespace it was made in (`/run/netns` name, or `net:[INODE]`); nil: the service's own.
    public var netns: String?
    /// The multicast groups joined and not left: `[{"group", "interface"}]`; nil for none.
    public var memberships: Detail?
    /// The options last set or read.
    public var options: Detail?
    /// Unix microseconds.
    public var createdAt: Int64
    public var closedAt: Int64?
    public var closeReason: String?
    public var bytesSent: Int64 = 0
    public var bytesReceived: Int64 = 0
    public var messagesSent: Int64 = 0
    public var messagesReceived: Int64 = 0
    public var updatedAt: Int64

    /// Creates a record for a new session.
    public init(id: String, family: String, type: String, protocol: String?, label: String?, state: String, createdAt: Int64) {
        self.id = id
        self.family = family
        self.type = type
        self.protocol = `protocol`
        self.label = label
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }
}

/// One recorded operation or happening, of a socket or a probe.
public struct EventRecord: Sendable, Equatable {
    /// Global, ever-increasing id; 0 until inserted.
    public var id: Int64 = 0
    /// Unix microseconds when the operation started.
    public var at: Int64
    public var socketID: String?
    public var probeID: String?
    /// The operation: create, bind, connect, send, close, ...
    public var op: String
    /// 'ok' | 'error' | 'timeout'.
    public var outcome: String
    public var errno: String?
    public var errorMessage: String?
    public var durationUs: Int64?
    /// The operation's arguments (payloads as size + bounded preview).
    public var args: Detail?
    /// The operation's result.
    public var result: Detail?
    /// Payload bytes moved by the operation, if any.
    public var bytes: Int64?
    /// The network namespace of its socket or probe; nil: the service's own.
    public var netns: String?

    /// Creates an event; `id` is assigned when it is stored.
    public init(
        at: Int64, socketID: String? = nil, probeID: String? = nil, op: String, outcome: String,
        errno: String? = nil, errorMessage: String? = nil, durationUs: Int64? = nil, args: Detail? = nil,
        result: Detail? = nil, bytes: Int64? = nil
    ) {
        self.at = at
        self.socketID = socketID
        self.probeID = probeID
        self.op = op
        self.outcome = outcome
        self.errno = errno
        self.errorMessage = errorMessage
        self.durationUs = durationUs
        self.args = args
        self.result = result
        self.bytes = bytes
    }
}

/// A page of a list, with the cursor of the next page (nil on the last one).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass back to get the next page; opaque to clients (the API encodes it).
    public var nextCursor: Int64?

    /// Creates a page.
    public init(items: [Item], nextCursor: Int64?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// Which way a list runs.
public enum ListOrder: Sendable {
    case newestFirst
    case oldestFirst
}
