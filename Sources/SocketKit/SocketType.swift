import Glibc

/// A socket's communication semantics, the second argument of `socket(2)`.
///
/// The API names them with the lowercase word after `SOCK_` (``name``). The creation flags
/// (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`) are not types: ``Socket`` always adds them itself.
public struct SocketType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw C value, as passed to `socket(2)` without flags.
    public let rawValue: CInt

    /// Wraps a raw C socket type.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// Reliable, ordered byte stream (TCP, SCTP one-to-one, Unix). The corresponding C constant is `SOCK_STREAM`.
    public static let stream = SocketType(rawValue: CInt(SOCK_STREAM.rawValue))

    /// Connectionless datagrams (UDP, ping sockets, Unix). The corresponding C constant is `SOCK_DGRAM`.
    public static let dgram = SocketType(rawValue: CInt(SOCK_DGRAM.rawValue))

    /// Reliable, ordered, record-preserving (SCTP, Unix). The corresponding C constant is `SOCK_SEQPACKET`.
    public static let seqpacket = SocketType(rawValue: CInt(SOCK_SEQPACKET.rawValue))

    /// Raw network-protocol access; needs `CAP_NET_RAW`. The corresponding C constant is `SOCK_RAW`.
    public static let raw = SocketType(rawValue: CInt(SOCK_RAW.rawValue))

    /// Datagram Congestion Control Protocol (removed from Linux 6.16). The corresponding C constant is `SOCK_DCCP`.
    public static let dccp = SocketType(rawValue: CInt(SOCK_DCCP.rawValue))

    /// The types Sockpit knows by name, in the order the API lists them.
    public static let allNamed: [SocketType] = [.stream, .dgram, .seqpacket, .raw, .dccp]

    /// The API name (`"stream"`); an unnamed type answers its number in decimal.
    public var name: String {
        switch self {
        case .stream: "stream"
        case .dgram: "dgram"
        case .seqpacket: "seqpacket"
        case .raw: "raw"
        case .dccp: "dccp"
        default: String(rawValue)
        }
    }

    /// Parses an API name (`"dgram"`, …); `nil` for anything else.
    public init?(name: String) {
        guard let type = Self.allNamed.first(where: { $0.name == name }) else { return nil }
        self = type
    }

    /// The API name, so that logs read like the API.
    public var description: String { name }

    /// The flags every socket is created with: non-blocking (rule 10) and closed across `exec`.
    static let creationFlags = CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
}
