import Glibc

/// A socket's protocol, the third argument of `socket(2)`.
///
/// Protocol numbers only mean something within a family: 0 is "the default" for `inet`, but
/// `NETLINK_ROUTE` for `netlink`; 4 is IP-in-IP for `inet` but `NETLINK_SOCK_DIAG` for `netlink`. So the
/// number is the value, and names are looked up per family with ``name(in:)`` and ``init(name:in:)``.
/// `inet` and `inet6` share IANA's IP protocol numbers.
public struct SocketProtocol: RawRepresentable, Hashable, Sendable {
    /// The raw C value, as passed to `socket(2)`.
    public let rawValue: CInt

    /// Wraps a raw C protocol number.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The family's default protocol for the type. The corresponding C constant is `0` (`IPPROTO_IP`).
    public static let `default` = SocketProtocol(rawValue: 0)

    /// TCP. The corresponding C constant is `IPPROTO_TCP`.
    public static let tcp = SocketProtocol(rawValue: CInt(IPPROTO_TCP))

    /// UDP. The corresponding C constant is `IPPROTO_UDP`.
    public static let udp = SocketProtocol(rawValue: CInt(IPPROTO_UDP))

    /// ICMP for IPv4 (raw, or the unprivileged "ping" datagram socket). The corresponding C constant is `IPPROTO_ICMP`.
    public static let icmp = SocketProtocol(rawValue: CInt(IPPROTO_ICMP))

    /// ICMP for IPv6. The corresponding C constant is `IPPROTO_ICMPV6`.
    public static let icmpv6 = SocketProtocol(rawValue: CInt(IPPROTO_ICMPV6))

    /// SCTP. The corresponding C constant is `IPPROTO_SCTP`.
    public static let sctp = SocketProtocol(rawValue: CInt(IPPROTO_SCTP))

    /// DCCP. The corresponding C constant is `IPPROTO_DCCP` (33).
    public static let dccp = SocketProtocol(rawValue: CInt(IPPROTO_DCCP))

    /// Routing and link messages (`ip route`, `ip link`). The corresponding C constant is `NETLINK_ROUTE` (0).
    public static let netlinkRoute = SocketProtocol(rawValue: 0)

    /// Socket diagnostics (`ss`). The corresponding C constant is `NETLINK_SOCK_DIAG` (4).
    public static let netlinkSockDiag = SocketProtocol(rawValue: 4)

    /// Every Ethernet protocol, in network byte order as `socket(2)` wants it.
    /// The corresponding C expression is `htons(ETH_P_ALL)`.
    public static let packetAll = SocketProtocol(rawValue: CInt(UInt16(0x0003).bigEndian))

    /// The API name of this protocol within `family` (`"tcp"`, `"route"`); unnamed numbers answer in decimal.
    /// A packet socket's protocol is an EtherType, shown in hex (`"0x88b5"`).
    public func name(in family: AddressFamily) -> String {
        if let name = Self.names(in: family).first(where: { $0.value == self })?.name { return name }
        if family == .packet { return "0x" + String(UInt16(bigEndian: UInt16(truncatingIfNeeded: rawValue)), radix: 16) }
        return String(rawValue)
    }

    /// Parses an API name within `family` (`"sock_diag"` in `netlink` is 4); `nil` when the family has no such name.
    /// IP families also take any protocol number 0...255 in decimal (`"253"`) and the names of `/etc/protocols`.
    public init?(name: String, in family: AddressFamily) {
        if let entry = Self.names(in: family).first(where: { $0.name == name }) {
            self = entry.value
            return
        }
        if family == .packet {
            // An EtherType, in hex (0x0800) or decimal, which socket(2) takes in network order.
            let digits = name.hasPrefix("0x") ? name.dropFirst(2) : Substring(name)
            guard !digits.isEmpty, digits.count <= 5, let value = UInt16(digits, radix: name.hasPrefix("0x") ? 16 : 10) else { return nil }
            self.init(rawValue: CInt(value.bigEndian))
            return
        }
        guard family == .inet || family == .inet6 else { return nil }
        if let number = UInt8(name), String(number) == name {
            self.init(rawValue: CInt(number))
        } else if let number = Self.listed(name) {
            self.init(rawValue: number)
        } else {
            return nil
        }
    }

    /// The number `/etc/protocols` gives `name` (`getprotobyname_r`), nil when it lists none or is absent.
    private static func listed(_ name: String) -> CInt? {
        guard !name.isEmpty, name.utf8.count <= 64 else { return nil }
        var entry = protoent()
        var found: UnsafeMutablePointer<protoent>?
        var buffer = [CChar](repeating: 0, count: 1024)
        guard getprotobyname_r(name, &entry, &buffer, buffer.count, &found) == 0, let found else { return nil }
        return found.pointee.p_proto
    }

    /// The names `family` gives its protocols, in the order the API lists them.
    public static func names(in family: AddressFamily) -> [(name: String, value: SocketProtocol)] {
        switch family {
        case .inet, .inet6: ipNames
        case .netlink: netlinkNames
        case .packet: packetNames
        default: [("default", .default)]
        }
    }

    /// The IP protocols named without `/etc/protocols` (which a bare system may lack), IANA's numbers.
    private static let ipNames: [(name: String, value: SocketProtocol)] = [
        ("default", .default), ("tcp", .tcp), ("udp", .udp), ("icmp", .icmp), ("icmpv6", .icmpv6),
        ("sctp", .sctp), ("dccp", .dccp), ("igmp", .init(rawValue: 2)), ("ipip", .init(rawValue: 4)),
        ("ipv6", .init(rawValue: 41)), ("gre", .init(rawValue: 47)), ("esp", .init(rawValue: 50)), ("ah", .init(rawValue: 51)),
        ("ospf", .init(rawValue: 89)), ("pim", .init(rawValue: 103)), ("vrrp", .init(rawValue: 112)),
        ("udplite", .init(rawValue: 136)), ("raw", .raw),
    ]

    /// Sends whole IP packets, header included; receives nothing. The corresponding C constant is `IPPROTO_RAW` (255).
    public static let raw = SocketProtocol(rawValue: CInt(IPPROTO_RAW))

    private static let netlinkNames: [(name: String, value: SocketProtocol)] = [
        ("route", .netlinkRoute), ("sock_diag", .netlinkSockDiag), ("xfrm", .init(rawValue: 6)), ("selinux", .init(rawValue: 7)),
        ("audit", .init(rawValue: 9)), ("netfilter", .init(rawValue: 12)), ("uevent", .init(rawValue: 15)), ("generic", .init(rawValue: 16)),
    ]

    // 0 on a packet socket means "receive nothing until bound to a protocol", hence its own name.
    private static let packetNames: [(name: String, value: SocketProtocol)] = [
        ("default", .default), ("all", .packetAll),
    ]
}
