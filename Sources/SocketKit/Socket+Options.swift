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
    }

    /// Whether ``Socket/setOption(_:_:)`` may change it; `so_error`, `so_type` and `so_acceptconn` are read-only.
    public var isSettable: Bool { ![.so_error, .so_type, .so_acceptconn].contains(self) }

    /// What kind of value the option holds.
    public var kind: Kind {
        switch self {
        case .so_rcvbuf, .so_sndbuf, .tcp_keepidle, .tcp_keepintvl, .tcp_keepcnt, .ip_ttl, .ip_tos: .int
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
        case .ip_ttl, .ip_tos, .ip_pktinfo, .ip_recvttl: CInt(IPPROTO_IP)
        case .ipv6_v6only, .ipv6_recvpktinfo, .ipv6_recvhoplimit: CInt(IPPROTO_IPV6)
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
        }
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
