public import Storage

/// One socket session as the domain shows it: the live state of an open socket, or its history once closed.
public struct SocketSnapshot: Sendable, Equatable {
    public var id: String
    /// inet, inet6 or unix.
    public var family: String
    /// stream, dgram or seqpacket.
    public var type: String
    /// The protocol's name (tcp, udp, default, ...).
    public var `protocol`: String
    public var label: String?
    public var state: SocketState
    /// Once bound (or given by the kernel on connect).
    public var localAddress: Address?
    /// Once connected or accepted.
    public var peerAddress: Address?
    /// The listening socket an accepted one came from.
    public var parentID: String?
    /// The options last set through the API.
    public var options: Detail?
    /// The kernel's id of the socket (`SO_COOKIE`, decimal): the same in every process that holds it.
    public var cookie: String?
    /// Who is at the other end of a connected Unix socket (`SO_PEERCRED`).
    public var peerCredentials: Credentials?
    /// The network namespace it was made in; nil: the service's own.
    public var netns: String?
    /// The multicast groups joined through the API and not left: `[{"group", "interface"}]`.
    public var memberships: Detail?
    /// Unix microseconds.
    public var createdAt: Int64
    public var closedAt: Int64?
    /// Why it closed (`CloseReason`).
    public var closeReason: String?
    public var bytesSent: Int64
    public var bytesReceived: Int64
    public var messagesSent: Int64
    public var messagesReceived: Int64

    /// The session a stored row describes; a row no version of Sockpit writes (an unknown state or address
    /// shape) is an internal error, named, rather than shown as something it is not.
    init(_ record: SocketRecord) throws {
        guard let state = SocketState(rawValue: record.state) else {
            throw SockpitError(.internal, "stored socket \(record.id) has an unknown state '\(record.state)'")
        }
        func address(_ detail: Detail?, _ name: String) throws -> Address? {
            guard let detail else { return nil }
            guard let address = Address(detail: detail) else {
                throw SockpitError(.internal, "stored socket \(record.id) has a \(name) of no known shape")
            }
            return address
        }
        id = record.id
        family = record.family
        type = record.type
        `protocol` = record.protocol ?? "default"
        label = record.label
        self.state = state
        localAddress = try address(record.localAddress, "local address")
        peerAddress = try address(record.peerAddress, "peer address")
        parentID = record.parentID
        options = record.options
        cookie = record.cookie
        netns = record.netns
        memberships = record.memberships
        peerCredentials = record.peerCredentials.flatMap(SocketRegistry.credentials(from:))
        createdAt = record.createdAt
        closedAt = record.closedAt
        closeReason = record.closeReason
        bytesSent = record.bytesSent
        bytesReceived = record.bytesReceived
        messagesSent = record.messagesSent
        messagesReceived = record.messagesReceived
    }
}

/// The states a session moves through.
public enum SocketState: String, Sendable {
    case created
    case bound
    case listening
    case connected
    case readShutdown = "read_shutdown"
    case writeShutdown = "write_shutdown"
    case shutdown
    case closed
}

/// Why a session ended, as stored and shown.
public enum CloseReason {
    public static let client = "client"
    public static let peerClosed = "peer-closed"
    public static let serverShutdown = "server-shutdown"
    public static let serverCrash = "server-crash"
    /// The socket was created but an option given at creation could not be set.
    public static let createFailed = "create-failed"
}
