import SystemPackage

/// Whether this host lets this process open one kind of socket, as found by trying.
public struct SocketKindSupport: Hashable, Sendable {
    /// The family's API name (`"inet6"`).
    public var family: String
    /// The type's API name (`"seqpacket"`).
    public var type: String
    /// The protocol's API name within the family (`"sctp"`, `"sock_diag"`).
    public var `protocol`: String
    /// Whether `socket(2)` succeeded.
    public var supported: Bool
    /// The errno name when it failed (`"EPROTONOSUPPORT"`); `nil` when supported.
    public var errno: String?
    /// The C library's message for that errno; `nil` when supported.
    public var message: String?

    /// Creates a result; `errno` and `message` belong to unsupported kinds only.
    public init(family: String, type: String, protocol: String, supported: Bool, errno: String?, message: String?) {
        self.family = family
        self.type = type
        self.protocol = `protocol`
        self.supported = supported
        self.errno = errno
        self.message = message
    }
}

/// Finds out which kinds of socket this host and process can open, by opening and closing each one.
///
/// Asking the kernel is the only reliable answer: SCTP and DCCP depend on modules (DCCP left Linux in
/// 6.16), raw and packet sockets on `CAP_NET_RAW`, and the unprivileged ICMP "ping" datagram socket on
/// the `net.ipv4.ping_group_range` sysctl, which makes `socket()` fail with `EACCES` for groups outside
/// it. Each try is one non-blocking `socket()` and `close()`; creating an SCTP socket may make the kernel
/// load its module once.
public enum CapabilityProbe {
    /// The kinds the sockets literature names, in the order they are reported.
    public static let kinds: [(family: AddressFamily, type: SocketType, protocol: SocketProtocol)] =
        ipKinds(.inet, icmp: .icmp) + ipKinds(.inet6, icmp: .icmpv6) + [
            (.unix, .stream, .default),
            (.unix, .dgram, .default),
            (.unix, .seqpacket, .default),
            (.netlink, .raw, .netlinkRoute),
            (.netlink, .raw, .netlinkSockDiag),
            (.packet, .raw, .packetAll),
            (.vsock, .stream, .default),
        ]

    /// Tries every kind in ``kinds``.
    public static func run() -> [SocketKindSupport] {
        kinds.map { probe(family: $0.family, type: $0.type, protocol: $0.protocol) }
    }

    /// Tries one kind: opens a socket of it and closes it again.
    public static func probe(family: AddressFamily, type: SocketType, protocol: SocketProtocol) -> SocketKindSupport {
        let failure: Errno?
        do {
            let socket = try Socket(family: family, type: type, protocol: `protocol`)
            try? socket.close()
            failure = nil
        } catch {
            failure = error
        }
        return SocketKindSupport(
            family: family.name, type: type.name, protocol: `protocol`.name(in: family),
            supported: failure == nil, errno: failure?.name, message: failure?.message
        )
    }

    private static func ipKinds(
        _ family: AddressFamily, icmp: SocketProtocol
    ) -> [(family: AddressFamily, type: SocketType, protocol: SocketProtocol)] {
        [
            (family, .stream, .tcp),
            (family, .dgram, .udp),
            (family, .raw, icmp),
            (family, .dgram, icmp),
            (family, .stream, .sctp),
            (family, .seqpacket, .sctp),
            (family, .dccp, .dccp),
        ]
    }
}
