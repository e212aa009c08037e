/// Why text or kernel bytes could not become a ``SocketAddress``.
///
/// These are validation failures, found before any syscall: they never carry an `Errno`. Each case's
/// ``description`` is written for a person reading an API error's `detail`.
public enum SocketAddressError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The host is not a numeric IPv4 or IPv6 address (names are not resolved here).
    case invalidHost(String)

    /// The `%zone` after an IPv6 host is neither a number nor an existing interface name.
    case unknownInterface(String)

    /// The port is outside 0...65535.
    case portOutOfRange(Int)

    /// A Unix path or abstract name needs more than the 107 bytes `sun_path` leaves (108 with its NUL).
    case unixPathTooLong(byteCount: Int)

    /// A Unix path is empty; an unnamed address only comes from the kernel, never from a caller.
    case emptyPath

    /// An abstract Unix name is empty.
    case emptyName

    /// A Unix path contains a NUL byte, which the kernel would silently treat as its end.
    case pathContainsNUL

    /// The kernel handed back an address of a family that `SocketAddress` does not model.
    case unsupportedFamily(AddressFamily)

    /// The kernel handed back fewer bytes than the family's address structure needs.
    case truncated(family: AddressFamily, length: Int)

    /// A link-layer address of more than the 8 bytes `sockaddr_ll` holds.
    case linkAddressTooLong(byteCount: Int)

    /// The longest Unix path or abstract name, in UTF-8 bytes: `sizeof(sun_path)` less one.
    public static let maximumUnixPathBytes = 107

    /// A sentence for the `detail` of an API error.
    public var description: String {
        switch self {
        case .invalidHost(let host):
            "'\(host)' is not a numeric IPv4 or IPv6 address"
        case .unknownInterface(let zone):
            "'\(zone)' is not a scope ID or the name of a network interface"
        case .portOutOfRange(let port):
            "port \(port) is outside 0...65535"
        case .unixPathTooLong(let count):
            "a Unix socket path or name has at most \(Self.maximumUnixPathBytes) bytes, this one has \(count)"
        case .emptyPath:
            "a Unix socket path must not be empty"
        case .emptyName:
            "an abstract Unix socket name must not be empty"
        case .pathContainsNUL:
            "a Unix socket path must not contain a NUL byte"
        case .unsupportedFamily(let family):
            "addresses of family \(family) are not supported"
        case .truncated(let family, let length):
            "a \(family) address of \(length) bytes is too short"
        case .linkAddressTooLong(let count):
            "a link-layer address has at most 8 bytes, this one has \(count)"
        }
    }
}
