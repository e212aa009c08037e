import Glibc
public import SystemPackage

/// A socket option Sockpit reads or sets, named in the API by its lowercase C name (`"tcp_nodelay"`).
public enum SocketOption: String, CaseIterable, Sendable {
    /// Rebind a local address in `TIME_WAIT`. The corresponding C constant is `SO_REUSEADDR`.
    case so_reuseaddr
    /// Let several sockets bind the same address and port. The corresponding C constant is `SO_REUSEPORT`.
    case so_reuseport
    /// Send keepalive probes on an idle connection. The corresponding C constant is `SO_KEEPALIVE`.
    case so_keepalive
    /// Allow sending to broadcast addresses. The corresponding C constant is `SO_BROADCAST`.
    case so_broadcast
    /// Receive buffer size; the kernel doubles what is set. The corresponding C constant is `SO_RCVBUF`.
    case so_rcvbuf
    /// Send buffer size; the kernel doubles what is set. The corresponding C constant is `SO_SNDBUF`.
    case so_sndbuf
    /// How `close` waits for unsent data. The corresponding C constant is `SO_LINGER`.
    case so_linger
    /// Deliver urgent data in the normal stream. The corresponding C constant is `SO_OOBINLINE`.
    case so_oobinline
    /// Send small segments at once (no Nagle). The corresponding C constant is `TCP_NODELAY`.
    case tcp_nodelay
    /// Idle seconds before the first keepalive probe. The corresponding C constant is `TCP_KEEPIDLE`.
    case tcp_keepidle
    /// Seconds between keepalive probes. The corresponding C constant is `TCP_KEEPINTVL`.
    case tcp_keepintvl
    /// Unanswered probes before the connection drops. The corresponding C constant is `TCP_KEEPCNT`.
    case tcp_keepcnt
    /// IPv4 time to live of outgoing packets. The corresponding C constant is `IP_TTL`.
    case ip_ttl
    /// IPv4 type-of-service / DSCP byte. The corresponding C constant is `IP_TOS`.
    case ip_tos
    /// An IPv6 socket refuses IPv4-mapped traffic. The corresponding C constant is `IPV6_V6ONLY`.
    case ipv6_v6only
    /// Each received message carries the sender's credentials (Unix). The corresponding C constant is `SO_PASSCRED`.
    case so_passcred
    /// Each received message carries the kernel's receive time. The corresponding C constant is `SO_TIMESTAMPNS`.
    case so_timestampns
    /// Each received IPv4 datagram carries its destination address and interface. The corresponding C constant
    /// is `IP_PKTINFO`.
    case ip_pktinfo
    /// Each received IPv4 packet carries its TTL. The corresponding C constant is `IP_RECVTTL`.
    case ip_recvttl
    /// Each received IPv6 datagram carries its destination address and interface. The corresponding C constant
    /// is `IPV6_RECVPKTINFO`.
    case ipv6_recvpktinfo
    /// Each received IPv6 packet carries its hop limit. The corresponding C constant is `IPV6_RECVHOPLIMIT`.
    case ipv6_recvhoplimit
    /// TTL of outgoing IPv4 multicast datagrams. The corresponding C constant is `IP_MULTICAST_TTL`.
    case ip_multicast_ttl
    /// This host's own listeners get a copy of the IPv4 multicast it sends. The corresponding C constant is
    /// `IP_MULTICAST_LOOP`.
    case ip_multicast_loop
    /// A socket bound to the wildcard address receives every group any socket of this host joined (Linux's
    /// default), not only its own. The corresponding C constant is `IP_MULTICAST_ALL`.
    case ip_multicast_all
    /// The interface IPv4 multicast leaves by. The corresponding C constant is `IP_MULTICAST_IF`.
    case ip_multicast_if
    /// Hop limit of outgoing IPv6 multicast (-1: the route's). The corresponding C constant is `IPV6_MULTICAST_HOPS`.
    case ipv6_multicast_hops
    /// This host's own listeners get a copy of the IPv6 multicast it sends. The corresponding C constant is
    /// `IPV6_MULTICAST_LOOP`.
    case ipv6_multicast_loop
    /// The interface IPv6 multicast leaves by. The corresponding C constant is `IPV6_MULTICAST_IF`.
    case ipv6_multicast_if
    /// Sends and receives only through this interface (by name; empty: any). The corresponding C constant is
    /// `SO_BINDTODEVICE`.
    case so_bindtodevice
    /// Sends carry their own IPv4 header (raw sockets; always on for `IPPROTO_RAW`). The corresponding C constant
    /// is `IP_HDRINCL`.
    case ip_hdrincl
    /// ICMP types a raw ICMP socket drops before they are queued. The corresponding C constant is `ICMP_FILTER`.
    case icmp_filter
    /// Where in an IPv6 raw socket's payload the kernel puts (and checks) the checksum; -1: nowhere. The
    /// corresponding C constant is `IPV6_CHECKSUM`.
    case ipv6_checksum
    /// Join an IPv4 multicast group; write-only. The corresponding C constant is `IP_ADD_MEMBERSHIP`.
    case ip_add_membership
    /// Leave an IPv4 multicast group; write-only. The corresponding C constant is `IP_DROP_MEMBERSHIP`.
    case ip_drop_membership
    /// Join an IPv6 multicast group; write-only. The corresponding C constant is `IPV6_JOIN_GROUP`.
    case ipv6_join_group
    /// Leave an IPv6 multicast group; write-only. The corresponding C constant is `IPV6_LEAVE_GROUP`.
    case ipv6_leave_group
    /// The pending error, cleared by reading it; read-only. The corresponding C constant is `SO_ERROR`.
    case so_error
    /// The socket's type; read-only. The corresponding C constant is `SO_TYPE`.
    case so_type
    /// Whether the socket is listening; read-only. The corresponding C constant is `SO_ACCEPTCONN`.
    case so_acceptconn

    /// The shape of an option's value.
    public enum Kind: String, Sendable {
        /// On or off (a C `int` 0/1).
        case bool
        /// A C `int`.
        case int
        /// A `struct linger`.
        case linger
        /// An errno number, shown by name.
        case errno
        /// A socket type number, shown by API name.
        case socketType
        /// An interface, by index or (IPv4) address (``InterfaceChoice``).
        case interface
        /// An interface by name, as text.
        case device
        /// A multicast group and the interface to join or leave it on (``Membership``).
        case membership
        /// A set of ICMP types (0...31), as the kernel's 32-bit mask.
        case icmpTypes
    }

    /// Whether ``Socket/setOption(_:_:)`` may change it; `so_error`, `so_type` and `so_acceptconn` are read-only.
    public var isSettable: Bool { ![.so_error, .so_type, .so_acceptconn].contains(self) }

    /// Whether ``Socket/option(_:)`` can read it; joining and leaving groups are actions, not values (a
    /// socket's memberships are kept by whoever made them).
    public var isReadable: Bool { kind != .membership }

    /// What kind of value the option holds.
    public var kind: Kind {
        switch self {
        case .so_rcvbuf, .so_sndbuf, .tcp_keepidle, .tcp_keepintvl, .tcp_keepcnt, .ip_ttl, .ip_tos, .ip_multicast_ttl,
             .ipv6_multicast_hops, .ipv6_checksum: .int
        case .icmp_filter: .icmpTypes
        case .ip_multicast_if, .ipv6_multicast_if: .interface
        case .so_bindtodevice: .device
        case .ip_add_membership, .ip_drop_membership, .ipv6_join_group, .ipv6_leave_group: .membership
        case .so_linger: .linger
        case .so_error: .errno
        case .so_type: .socketType
        default: .bool
        }
    }

    /// The `level` argument of `getsockopt(2)`/`setsockopt(2)`.
    var level: CInt {
        switch self {
        case .tcp_nodelay, .tcp_keepidle, .tcp_keepintvl, .tcp_keepcnt: CInt(IPPROTO_TCP)
        case .icmp_filter: CInt(SOL_RAW)
        case .ip_ttl, .ip_tos, .ip_pktinfo, .ip_recvttl, .ip_multicast_ttl, .ip_hdrincl, .ip_multicast_loop, .ip_multicast_all,
             .ip_multicast_if, .ip_add_membership, .ip_drop_membership: CInt(IPPROTO_IP)
        case .ipv6_v6only, .ipv6_recvpktinfo, .ipv6_recvhoplimit, .ipv6_multicast_hops, .ipv6_multicast_loop,
             .ipv6_multicast_if, .ipv6_join_group, .ipv6_leave_group, .ipv6_checksum: CInt(IPPROTO_IPV6)
        default: SOL_SOCKET
        }
    }

    /// The `optname` argument of `getsockopt(2)`/`setsockopt(2)`.
    var name: CInt {
        switch self {
        case .so_reuseaddr: SO_REUSEADDR
        case .so_reuseport: SO_REUSEPORT
        case .so_keepalive: SO_KEEPALIVE
        case .so_broadcast: SO_BROADCAST
        case .so_rcvbuf: SO_RCVBUF
        case .so_sndbuf: SO_SNDBUF
        case .so_linger: SO_LINGER
        case .so_oobinline: SO_OOBINLINE
        case .tcp_nodelay: CInt(TCP_NODELAY)
        case .tcp_keepidle: CInt(TCP_KEEPIDLE)
        case .tcp_keepintvl: CInt(TCP_KEEPINTVL)
        case .tcp_keepcnt: CInt(TCP_KEEPCNT)
        case .ip_ttl: CInt(IP_TTL)
        case .ip_tos: CInt(IP_TOS)
        case .ipv6_v6only: CInt(IPV6_V6ONLY)
        case .so_passcred: SO_PASSCRED
        // SO_TIMESTAMPNS is the `_OLD` one on 64-bit Linux: its control message is a 64-bit `timespec`.
        case .so_timestampns: CInt(SO_TIMESTAMPNS_OLD)
        case .ip_pktinfo: CInt(IP_PKTINFO)
        case .ip_recvttl: CInt(IP_RECVTTL)
        case .ipv6_recvpktinfo: CInt(IPV6_RECVPKTINFO)
        case .ipv6_recvhoplimit: CInt(IPV6_RECVHOPLIMIT)
        case .ip_multicast_ttl: CInt(IP_MULTICAST_TTL)
        case .ip_multicast_loop: CInt(IP_MULTICAST_LOOP)
        case .ip_multicast_all: CInt(IP_MULTICAST_ALL)
        case .ip_multicast_if: CInt(IP_MULTICAST_IF)
        case .ipv6_multicast_hops: CInt(IPV6_MULTICAST_HOPS)
        case .ipv6_multicast_loop: CInt(IPV6_MULTICAST_LOOP)
        case .ipv6_multicast_if: CInt(IPV6_MULTICAST_IF)
        case .so_bindtodevice: SO_BINDTODEVICE
        case .ip_hdrincl: CInt(IP_HDRINCL)
        case .icmp_filter: 1  // ICMP_FILTER, <linux/icmp.h>
        case .ipv6_checksum: CInt(IPV6_CHECKSUM)
        case .ip_add_membership: CInt(IP_ADD_MEMBERSHIP)
        case .ip_drop_membership: CInt(IP_DROP_MEMBERSHIP)
        case .ipv6_join_group: CInt(IPV6_JOIN_GROUP)
        case .ipv6_leave_group: CInt(IPV6_LEAVE_GROUP)
        case .so_error: SO_ERROR
        case .so_type: SO_TYPE
        case .so_acceptconn: SO_ACCEPTCONN
        }
    }

    /// Whether it applies to this socket kind (tcp_* only for tcp, ip_* only inet, ipv6_v6only only inet6, so_broadcast dgram...). Used to list options for a socket.
    ///
    /// The kernel accepts some options where they mean nothing (`so_reuseaddr` on a Unix socket); this
    /// answers where they have an effect, so a listing shows what is worth setting.
    public func applies(family: AddressFamily, type: SocketType, protocol: SocketProtocol) -> Bool {
        let ip = family == .inet || family == .inet6
        let connected = type == .stream || type == .seqpacket
        let tcp = ip && type == .stream && (`protocol` == .tcp || `protocol` == .default)
        switch self {
        case .so_reuseaddr, .so_reuseport: return ip
        case .so_keepalive, .so_linger: return ip && connected
        case .so_broadcast: return family == .inet && (type == .dgram || type == .raw)
        case .so_oobinline, .tcp_nodelay, .tcp_keepidle, .tcp_keepintvl, .tcp_keepcnt: return tcp
        case .ip_ttl, .ip_tos: return family == .inet
        case .ipv6_v6only: return family == .inet6
        case .so_passcred: return family == .unix
        case .ip_pktinfo, .ip_recvttl: return family == .inet && type != .stream
        case .ipv6_recvpktinfo, .ipv6_recvhoplimit: return family == .inet6 && type != .stream
        case .so_timestampns: return true
        // Multicast is for datagrams (UDP, raw); binding to a device is for any IP socket.
        case .ip_multicast_ttl, .ip_multicast_loop, .ip_multicast_all, .ip_multicast_if, .ip_add_membership, .ip_drop_membership:
            return family == .inet && type != .stream
        case .ipv6_multicast_hops, .ipv6_multicast_loop, .ipv6_multicast_if, .ipv6_join_group, .ipv6_leave_group:
            return family == .inet6 && type != .stream
        case .so_bindtodevice: return ip
        case .ip_hdrincl: return family == .inet && type == .raw
        case .icmp_filter: return family == .inet && type == .raw && `protocol` == .icmp
        case .ipv6_checksum: return family == .inet6 && type == .raw && `protocol` != .icmpv6
        case .so_acceptconn: return connected
        case .so_rcvbuf, .so_sndbuf, .so_error, .so_type: return true
        }
    }
}

/// The value of a ``SocketOption``, one case per ``SocketOption/Kind``.
public enum SocketOptionValue: Sendable, Equatable {
    /// On or off.
    case bool(Bool)
    /// A number (buffer bytes, seconds, hops, a TOS byte).
    case int(Int)
    /// `SO_LINGER`: whether `close` lingers, and for how many seconds.
    case linger(enabled: Bool, seconds: Int)
    /// `SO_ERROR`: the errno name (`"ECONNREFUSED"`), `nil` for none.
    case errno(String?)
    /// `SO_TYPE`: the type's API name (`"stream"`).
    case socketType(String)
    /// `IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`.
    case interface(InterfaceChoice)
    /// `SO_BINDTODEVICE`: the interface's name, empty for none.
    case device(String)
    /// `IP_ADD_MEMBERSHIP` and the others of its kind.
    case membership(Membership)
    /// `ICMP_FILTER`: the ICMP types dropped, ascending.
    case icmpTypes([Int])
}

/// Which interface an option names: by index, or for IPv4 by one of its addresses; `.any` lets the kernel choose.
/// (Names become indexes where the socket's namespace is known: `if_nametoindex` answers for the calling
/// thread's namespace.)
public enum InterfaceChoice: Sendable, Equatable {
    /// The kernel chooses (by route).
    case any
    /// The interface with this index (`if_nametoindex`).
    case index(UInt32)
    /// The IPv4 interface that has this address.
    case address(IPv4Address)
    /// The interface with this name, looked up when set (``Socket/interfaceIndex(named:)``) in the calling
    /// thread's namespace: a caller that knows the socket's namespace turns it into `.index` there first.
    case name(String)
}

/// A multicast group, and the interface to join or leave it on.
public struct Membership: Sendable, Equatable {
    /// The group: 224.0.0.0/4 or ff00::/8.
    public var group: IPAddress
    /// Where: `.any` lets the kernel choose by route.
    public var interface: InterfaceChoice

    /// Creates a membership.
    public init(group: IPAddress, interface: InterfaceChoice) {
        self.group = group
        self.interface = interface
    }
}

extension Socket {
    /// Sets an option (`setsockopt(2)`).
    ///
    /// - Throws: `EINVAL` for a value of the wrong kind or out of C `int` range; `ENOPROTOOPT` for a
    ///   read-only option (what the kernel itself answers); else the kernel's `Errno`, such as
    ///   `EOPNOTSUPP`/`ENOPROTOOPT` for a TCP option on a Unix socket.
    public func setOption(_ option: SocketOption, _ value: SocketOptionValue) throws(Errno) {
        guard option.isSettable else { throw .protocolNotAvailable }
        switch (option.kind, value) {
        case (.bool, .bool(let on)):
            try setRaw(option, CInt(on ? 1 : 0))
        case (.int, .int(let number)):
            guard let number = CInt(exactly: number) else { throw .invalidArgument }
            try setRaw(option, number)
        case (.linger, .linger(let enabled, let seconds)):
            guard let seconds = CInt(exactly: seconds) else { throw .invalidArgument }
            try setRaw(option, linger(l_onoff: enabled ? 1 : 0, l_linger: seconds))
        case (.interface, .interface(let choice)):
            if option == .ip_multicast_if {
                try setRaw(option, try Self.request(group: nil, on: choice))
            } else {
                switch choice {
                case .any: try setRaw(option, CInt(0))
                case .index(let index): try setRaw(option, CInt(bitPattern: index))
                case .name(let name): try setRaw(option, CInt(bitPattern: try Self.interfaceIndex(named: name)))
                case .address: throw .invalidArgument  // an IPv6 interface has no one address to name it by
                }
            }
        case (.device, .device(let name)):
            guard !name.utf8.contains(0), name.utf8.count < Int(IFNAMSIZ) else { throw .invalidArgument }
            _ = try withUnsafeFileDescriptor { fd throws(Errno) in
                try syscall { setsockopt(fd, option.level, option.name, name, socklen_t(name.utf8.count)) }
            }
        case (.icmpTypes, .icmpTypes(let types)):
            guard types.allSatisfy({ (0...31).contains($0) }) else { throw .invalidArgument }
            try setRaw(option, types.reduce(UInt32(0)) { $0 | (1 << UInt32($1)) })
        case (.membership, .membership(let membership)):
            switch (option.level == CInt(IPPROTO_IP), membership.group, membership.interface) {
            case (true, .v4(let group), let choice):
                try setRaw(option, try Self.request(group: group, on: choice))
            case (false, .v6(let group), .any), (false, .v6(let group), .index), (false, .v6(let group), .name):
                var request = ipv6_mreq()
                request.ipv6mr_multiaddr = group.in6Addr
                if case .index(let index) = membership.interface { request.ipv6mr_interface = index }
                if case .name(let name) = membership.interface { request.ipv6mr_interface = try Self.interfaceIndex(named: name) }
                try setRaw(option, request)
            default:
                throw .invalidArgument  // a group of the other family, or an IPv6 interface named by address
            }
        default:
            throw .invalidArgument
        }
    }

    /// Reads an option (`getsockopt(2)`); reading `so_error` clears the pending error, as in C.
    public func option(_ option: SocketOption) throws(Errno) -> SocketOptionValue {
        switch option.kind {
        case .bool:
            return .bool(try getRaw(option, as: CInt.self) != 0)
        case .int:
            return .int(Int(try getRaw(option, as: CInt.self)))
        case .linger:
            let value = try getRaw(option, as: linger.self)
            return .linger(enabled: value.l_onoff != 0, seconds: Int(value.l_linger))
        case .errno:
            let code = try getRaw(option, as: CInt.self)
            return .errno(code == 0 ? nil : Errno(rawValue: code).name)
        case .socketType:
            return .socketType(SocketType(rawValue: try getRaw(option, as: CInt.self)).name)
        case .interface:
            if option == .ip_multicast_if {
                let address = IPv4Address(try getRaw(option, as: in_addr.self))
                return .interface(address == .any ? .any : .address(address))
            }
            let index = UInt32(bitPattern: try getRaw(option, as: CInt.self))
            return .interface(index == 0 ? .any : .index(index))
        case .device:
            let name = try getRaw(option, as: (UInt64, UInt64).self)  // IFNAMSIZ bytes, NUL-padded
            let text = withUnsafeBytes(of: name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return .device(text)
        case .membership:
            throw .protocolNotAvailable
        case .icmpTypes:
            let mask = try getRaw(option, as: UInt32.self)
            return .icmpTypes((0..<32).filter { mask & (1 << UInt32($0)) != 0 })
        }
    }

    /// `struct ip_mreqn` for a group (nil for `IP_MULTICAST_IF`) on an interface.
    private static func request(group: IPv4Address?, on choice: InterfaceChoice) throws(Errno) -> ip_mreqn {
        var request = ip_mreqn()
        if let group { request.imr_multiaddr = group.inAddr }
        switch choice {
        case .any: break
        case .index(let index): request.imr_ifindex = CInt(bitPattern: index)
        case .address(let address): request.imr_address = address.inAddr
        case .name(let name): request.imr_ifindex = CInt(bitPattern: try interfaceIndex(named: name))
        }
        return request
    }

    /// The index of the interface named `name` in the calling thread's network namespace.
    ///
    /// - Throws: `ENODEV` when there is none.
    public static func interfaceIndex(named name: String) throws(Errno) -> UInt32 {
        let index = if_nametoindex(name)
        guard index != 0 else { throw Errno(rawValue: ENODEV) }
        return index
    }

    /// The name of the interface with `index` in the calling thread's network namespace, nil when none.
    public static func interfaceName(index: UInt32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(IFNAMSIZ))
        guard if_indextoname(index, &buffer) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// SO_ERROR: nil when the socket has no pending error.
    ///
    /// After a non-blocking ``connect(to:)`` answered `false` and the socket became writable, this is
    /// the connect's outcome (`ECONNREFUSED`, `ETIMEDOUT`, …). Reading clears it.
    public func pendingError() throws(Errno) -> Errno? {
        let code = try getRaw(.so_error, as: CInt.self)
        return code == 0 ? nil : Errno(rawValue: code)
    }

    /// `setsockopt(2)` with a plain C value.
    func setRaw<T>(_ option: SocketOption, _ value: T) throws(Errno) {
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall {
                withUnsafeBytes(of: value) {
                    setsockopt(fd, option.level, option.name, $0.baseAddress, socklen_t($0.count))
                }
            }
        }
    }

    /// `getsockopt(2)` into a plain C value, zero-filled first so a shorter answer reads as zeros.
    func getRaw<T>(_ option: SocketOption, as type: T.Type) throws(Errno) -> T {
        try getRaw(level: option.level, name: option.name, as: type)
    }

    /// `getsockopt(2)` for options outside ``SocketOption`` (`TCP_INFO`).
    func getRaw<T>(level: CInt, name: CInt, as type: T.Type) throws(Errno) -> T {
        try withUnsafeFileDescriptor { fd throws(Errno) in
            try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { (buffer) throws(Errno) -> T in
                let raw = UnsafeMutableRawBufferPointer(buffer)
                raw.initializeMemory(as: UInt8.self, repeating: 0)
                var length = socklen_t(raw.count)
                _ = try syscall { getsockopt(fd, level, name, raw.baseAddress, &length) }
                return raw.load(as: T.self)
            }
        }
    }
}
