import Glibc

/// A socket's address family, the first argument of `socket(2)`.
///
/// Sockpit names families in its API with the lowercase word after `AF_` (``name``): `"inet"`, `"inet6"`,
/// `"unix"`, `"netlink"`, `"packet"`, `"vsock"`. Any other number can still be carried through
/// ``init(rawValue:)``; the kernel decides whether it exists.
public struct AddressFamily: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw C value, as passed to `socket(2)` and stored in `sa_family`.
    public let rawValue: CInt

    /// Wraps a raw C address family.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// IPv4. The corresponding C constant is `AF_INET`.
    public static let inet = AddressFamily(rawValue: AF_INET)

    /// IPv6. The corresponding C constant is `AF_INET6`.
    public static let inet6 = AddressFamily(rawValue: AF_INET6)

    /// Local (Unix-domain) sockets, by path or abstract name. The corresponding C constant is `AF_UNIX`.
    public static let unix = AddressFamily(rawValue: AF_UNIX)

    /// Kernel/user-space messaging (routing, socket diagnostics). The corresponding C constant is `AF_NETLINK`.
    public static let netlink = AddressFamily(rawValue: AF_NETLINK)

    /// Link-layer frames; needs `CAP_NET_RAW`. The corresponding C constant is `AF_PACKET`.
    public static let packet = AddressFamily(rawValue: AF_PACKET)

    /// Host/guest virtual machine sockets. The corresponding C constant is `AF_VSOCK`.
    public static let vsock = AddressFamily(rawValue: AF_VSOCK)

    /// The families Sockpit knows by name, in the order the API lists them.
    public static let allNamed: [AddressFamily] = [.inet, .inet6, .unix, .netlink, .packet, .vsock]

    /// The API name (`"inet6"`); an unnamed family answers its number in decimal.
    public var name: String {
        switch self {
        case .inet: "inet"
        case .inet6: "inet6"
        case .unix: "unix"
        case .netlink: "netlink"
        case .packet: "packet"
        case .vsock: "vsock"
        default: String(rawValue)
        }
    }

    /// Parses an API name (`"inet"`, …); `nil` for anything else.
    public init?(name: String) {
        guard let family = Self.allNamed.first(where: { $0.name == name }) else { return nil }
        self = family
    }

    /// The API name, so that logs read like the API.
    public var description: String { name }
}
