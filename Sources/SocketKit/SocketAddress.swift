import Glibc

/// Where a socket is bound or connected: one case per kind of address the kernel understands here.
///
/// Build addresses from API text with the validating initialisers (``init(host:port:)``,
/// ``init(unixPath:)``, ``init(abstractName:)``), which reject what the kernel would misread; the cases
/// themselves carry what the kernel reports back, including the unnamed Unix address (an empty path)
/// of socketpair ends and unbound clients. Host names are not resolved here.
public enum SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address and port (`sockaddr_in`).
    case v4(host: IPv4Address, port: UInt16)

    /// An IPv6 address, port and scope (`sockaddr_in6`); `scopeID` is an interface index, 0 for none.
    case v6(host: IPv6Address, port: UInt16, scopeID: UInt32)

    /// A filesystem Unix socket (`sockaddr_un`); the empty path is the kernel's "unnamed" address.
    case unix(path: String)

    /// A Linux abstract Unix socket: a name in `sun_path` after a leading NUL, with no file behind it.
    case abstract(name: String)

    /// A netlink endpoint (`sockaddr_nl`): port ID (0 means the kernel) and multicast group mask.
    case netlink(pid: UInt32, groups: UInt32)

    /// A link-layer endpoint of a packet socket (`sockaddr_ll`).
    case link(LinkAddress)

    /// Parses a numeric IPv4 or IPv6 host and a port.
    ///
    /// An IPv6 host may end in `%zone`, either a scope ID (`fe80::1%2`) or an interface name
    /// (`fe80::1%eth0`, looked up with `if_nametoindex`).
    public init(host: String, port: Int) throws(SocketAddressError) {
        guard let port = UInt16(exactly: port) else { throw .portOutOfRange(port) }
        if let percent = host.lastIndex(of: "%") {
            let address = try IPv6Address(String(host[..<percent]))
            let scopeID = try Self.scopeID(String(host[host.index(after: percent)...]))
            self = .v6(host: address, port: port, scopeID: scopeID)
        } else if let address = try? IPv4Address(host) {
            self = .v4(host: address, port: port)
        } else if let address = try? IPv6Address(host) {
            self = .v6(host: address, port: port, scopeID: 0)
        } else {
            throw .invalidHost(host)
        }
    }

    /// Validates a filesystem Unix socket path: not empty, no NUL, at most 107 UTF-8 bytes.
    public init(unixPath path: String) throws(SocketAddressError) {
        let bytes = path.utf8
        guard !bytes.isEmpty else { throw .emptyPath }
        guard !bytes.contains(0) else { throw .pathContainsNUL }
        guard bytes.count <= SocketAddressError.maximumUnixPathBytes else {
            throw .unixPathTooLong(byteCount: bytes.count)
        }
        self = .unix(path: path)
    }

    /// Validates an abstract Unix socket name (without the leading NUL): not empty, at most 107 UTF-8 bytes.
    public init(abstractName name: String) throws(SocketAddressError) {
        let count = name.utf8.count
        guard count > 0 else { throw .emptyName }
        guard count <= SocketAddressError.maximumUnixPathBytes else { throw .unixPathTooLong(byteCount: count) }
        self = .abstract(name: name)
    }

    /// The family a socket needs to use this address.
    public var family: AddressFamily {
        switch self {
        case .v4: .inet
        case .v6: .inet6
        case .unix, .abstract: .unix
        case .netlink: .netlink
        case .link: .packet
        }
    }

    /// The port of an IP address; `nil` for the other kinds.
    public var port: UInt16? {
        switch self {
        case .v4(_, let port), .v6(_, let port, _): port
        case .unix, .abstract, .netlink, .link: nil
        }
    }

    /// How `ss` and most tools print it: `192.0.2.1:80`, `[fe80::1%2]:80`, `/run/x.sock`, `@name`.
    public var description: String {
        switch self {
        case .v4(let host, let port):
            "\(host):\(port)"
        case .v6(let host, let port, let scopeID):
            scopeID == 0 ? "[\(host)]:\(port)" : "[\(host)%\(scopeID)]:\(port)"
        case .unix(let path):
            path.isEmpty ? "(unnamed)" : path
        case .abstract(let name):
            "@\(name)"
        case .netlink(let pid, let groups):
            "netlink pid \(pid) groups \(groups)"
        case .link(let link):
            "link \(link.interfaceIndex) \(LinkAddress.text(link.address)) protocol 0x\(String(link.protocol, radix: 16))"
        }
    }

    /// A numeric zone is the interface index itself; otherwise it names an interface.
    private static func scopeID(_ zone: String) throws(SocketAddressError) -> UInt32 {
        if let index = UInt32(zone) { return index }
        let index = zone.isEmpty ? 0 : if_nametoindex(zone)
        guard index != 0 else { throw .unknownInterface(zone) }
        return index
    }
}
