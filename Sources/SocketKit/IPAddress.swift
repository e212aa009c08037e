import Glibc

/// A numeric IPv4 address, parsed with `inet_pton` and printed with `inet_ntop`.
///
/// It holds the four bytes exactly as `in_addr` does (network byte order), so going to and from
/// `sockaddr_in` is a copy; no host names here: resolving them is a separate, blocking concern.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    /// The address as stored in `in_addr.s_addr`: network byte order.
    let networkOrder: UInt32

    /// Wraps four bytes already in network byte order.
    init(networkOrder: UInt32) { self.networkOrder = networkOrder }

    /// Copies the C form, from `sockaddr_in.sin_addr`.
    init(_ address: in_addr) { networkOrder = address.s_addr }

    /// Parses dotted-quad text (`"192.0.2.1"`); `inet_pton` rejects the short and octal forms `inet_aton` allows.
    public init(_ text: String) throws(SocketAddressError) {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { throw .invalidHost(text) }
        self.init(address)
    }

    /// `0.0.0.0`, every local address when bound. The corresponding C constant is `INADDR_ANY`.
    public static let any = IPv4Address(networkOrder: UInt32(0).bigEndian)

    /// `127.0.0.1`. The corresponding C constant is `INADDR_LOOPBACK`.
    public static let loopback = IPv4Address(networkOrder: UInt32(0x7f00_0001).bigEndian)

    /// The C form, for `sockaddr_in.sin_addr`.
    var inAddr: in_addr { in_addr(s_addr: networkOrder) }

    /// Dotted-quad text, as `inet_ntop` writes it.
    public var description: String {
        var address = inAddr
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET_ADDRSTRLEN)) { buffer in
            guard let text = inet_ntop(AF_INET, &address, buffer.baseAddress, socklen_t(buffer.count)) else {
                return "?"
            }
            return String(cString: text)
        }
    }
}

/// A numeric IPv6 address, parsed with `inet_pton` and printed with `inet_ntop` (RFC 5952 form).
///
/// The scope (zone) is not part of the address: it belongs to ``SocketAddress/v6(host:port:scopeID:)``,
/// as it does to `sockaddr_in6`.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    // The 16 bytes of `in6_addr` in memory order, split in two so the type stays trivially Hashable.
    private let high: UInt64
    private let low: UInt64

    /// Copies the C form, from `sockaddr_in6.sin6_addr`.
    init(_ address: in6_addr) {
        (high, low) = withUnsafeBytes(of: address) { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
             bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    /// Parses IPv6 text (`"2001:db8::1"`, `"::ffff:192.0.2.1"`); a `%zone` suffix is not accepted here.
    public init(_ text: String) throws(SocketAddressError) {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { throw .invalidHost(text) }
        self.init(address)
    }

    /// `::`, every local address when bound. The corresponding C constant is `in6addr_any`.
    public static let any = IPv6Address(in6_addr())

    /// `::1`. The corresponding C constant is `in6addr_loopback`.
    public static let loopback: IPv6Address = {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0[15] = 1 }
        return IPv6Address(address)
    }()

    /// The C form, for `sockaddr_in6.sin6_addr`.
    var in6Addr: in6_addr {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { bytes in
            bytes.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
        }
        return address
    }

    /// RFC 5952 text, as `inet_ntop` writes it.
    public var description: String {
        var address = in6Addr
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { buffer in
            guard let text = inet_ntop(AF_INET6, &address, buffer.baseAddress, socklen_t(buffer.count)) else {
                return "?"
            }
            return String(cString: text)
        }
    }
}

/// An IPv4 or IPv6 address, numeric, without port or scope (a multicast group, an interface address).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address.
    case v4(IPv4Address)
    /// An IPv6 address.
    case v6(IPv6Address)

    /// Parses either family's text form (`"239.1.2.3"`, `"ff15::1"`).
    public init(_ text: String) throws(SocketAddressError) {
        if let v4 = try? IPv4Address(text) { self = .v4(v4) } else { self = .v6(try IPv6Address(text)) }
    }

    /// Whether it is a multicast address: 224.0.0.0/4 or ff00::/8.
    public var isMulticast: Bool {
        switch self {
        case .v4(let address): UInt32(bigEndian: address.networkOrder) >> 28 == 0xe
        case .v6(let address): withUnsafeBytes(of: address.in6Addr) { $0[0] } == 0xff
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}
