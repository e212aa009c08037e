public import SocketKit
import Glibc
import Storage
import SystemPackage

/// An IPv4 header as the API takes it for a raw socket's send with `ip_hdrincl`: the fields a client sets; length
/// and checksum are computed, an absent source or id left for the kernel to fill in.
public struct IPHeaderSpec: Sendable {
    public var source: String?
    public var destination: String?
    public var ttl: Int?
    public var tos: Int?
    public var identification: Int?
    public var dontFragment: Bool?
    public var `protocol`: Int?

    /// Creates a spec; every field may be left out.
    public init(source: String? = nil, destination: String? = nil, ttl: Int? = nil, tos: Int? = nil, identification: Int? = nil,
                dontFragment: Bool? = nil, protocol: Int? = nil) {
        self.source = source
        self.destination = destination
        self.ttl = ttl
        self.tos = tos
        self.identification = identification
        self.dontFragment = dontFragment
        self.protocol = `protocol`
    }
}

/// A received IPv4 header, decoded.
public typealias IPv4Header = SocketKit.IPv4Header
/// A received Ethernet header, decoded.
public typealias EthernetHeader = SocketKit.EthernetHeader

/// An Ethernet header as the API takes it for a raw packet socket's send: destination and EtherType, the source
/// the bound interface's own MAC unless given.
public struct EthernetSpec: Sendable {
    public var destination: String
    public var source: String?
    public var etherType: Int

    /// Creates a spec.
    public init(destination: String, source: String? = nil, etherType: Int) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
    }
}

extension SocketRegistry {
    /// What a raw socket sends, checked against the raw-socket rules: with `ip_hdrincl` the header's own source and
    /// destination (the kernel routes by the `sendto` address and puts the header's on the wire, so both are
    /// checked), the source one of this host's (or the socket's namespace's) addresses unless `--allow-spoofing`,
    /// and the socket's send rate. Returns the bytes to send and where.
    func rawPacket(_ bytes: [UInt8], header spec: IPHeaderSpec?, on managed: ManagedSocket,
                   to destination: SocketAddress?) throws -> (packet: [UInt8], destination: SocketAddress?) {
        let socket = managed.socket
        let headerIncluded = socket.family == .inet
            && (socket.protocol == .raw || (try? socket.option(.ip_hdrincl)) == .bool(true))
        var packet = bytes
        var destination = destination
        if let spec {
            guard headerIncluded else {
                throw SockpitError(.conflict, "ip_header needs an IPv4 raw socket with ip_hdrincl on (PATCH its options)", field: "ip_header")
            }
            let header = try Self.header(spec, protocol: socket.protocol)
            packet = header.encoded(payloadLength: bytes.count) + bytes
            if destination == nil { destination = .v4(host: header.destination, port: 0) }
        }
        if headerIncluded {
            guard let header = IPv4Header(decoding: packet[...]) else {
                throw SockpitError(.invalid, "with ip_hdrincl, data must start with an IPv4 header (or give ip_header)", field: "data")
            }
            let field = spec == nil ? "data" : "ip_header"
            guard header.destination != .any else {
                throw SockpitError(.invalid, "\(field): the header's destination is 0.0.0.0", field: spec == nil ? "data" : "ip_header.dst")
            }
            if destination == nil { destination = .v4(host: header.destination, port: 0) }
            if case .denied(let rule, let reason) = policy.targets.decide(.v4(host: header.destination, port: 0)) {
                throw SockpitError(.forbidden, "the header's destination \(header.destination) is denied by rule '\(rule)': \(reason)",
                                   field: spec == nil ? "data" : "ip_header.dst")
            }
            if header.source != .any, !policy.raw.allowSpoofing, !(try ownAddresses(of: managed)).contains(.v4(header.source)) {
                throw SockpitError(.forbidden, "the header's source \(header.source) is not an address of this host\(managed.namespace.map { " (namespace \($0.name))" } ?? ""): "
                    + "spoofed sources are refused unless --allow-spoofing", field: spec == nil ? "data" : "ip_header.src")
            }
        }
        try spendSendBudget(managed)
        return (packet, destination)
    }

    /// What a packet socket sends: on a raw one with `header`, that Ethernet header in front of `bytes` (its
    /// source the bound interface's MAC unless given); otherwise `bytes` as they are (a whole frame on a raw
    /// socket, a payload on a dgram one).
    func linkFrame(_ bytes: [UInt8], header spec: EthernetSpec?, on managed: ManagedSocket) throws -> [UInt8] {
        var frame = bytes
        if let spec {
            guard managed.socket.type == .raw else {
                throw SockpitError(.conflict, "ethernet_header is for raw packet sockets; a dgram one sends payloads to `to`", field: "ethernet_header")
            }
            guard let destination = LinkAddress.bytes(spec.destination), destination.count == 6 else {
                throw SockpitError(.invalid, "ethernet_header.dst must be a MAC such as ff:ff:ff:ff:ff:ff", field: "ethernet_header.dst")
            }
            guard (0...0xffff).contains(spec.etherType) else {
                throw SockpitError(.invalid, "ethernet_header.ethertype must be 0 to 65535", field: "ethernet_header.ethertype")
            }
            let source: [UInt8]
            if let text = spec.source {
                guard let bytes = LinkAddress.bytes(text), bytes.count == 6 else {
                    throw SockpitError(.invalid, "ethernet_header.src must be a MAC such as 02:00:00:00:00:01", field: "ethernet_header.src")
                }
                source = bytes
            } else if case .link(let bound)? = try? managed.socket.localAddress(), bound.interfaceIndex != 0, bound.address.count == 6 {
                source = bound.address
            } else {
                throw SockpitError(.conflict, "ethernet_header.src is needed: the socket is bound to no interface whose MAC could be used",
                                   field: "ethernet_header.src")
            }
            frame = EthernetHeader(destination: destination, source: source, etherType: UInt16(spec.etherType)).encoded + bytes
        }
        try spendSendBudget(managed)
        return frame
    }

    /// Takes one packet from the socket's `--raw-send-rate` budget; 429 when it is spent.
    private func spendSendBudget(_ managed: ManagedSocket) throws {
        guard managed.sendBudget?.take() ?? true else {
            throw SockpitError(.limit, "this socket sent \(policy.raw.sendRate) packets in the last second: --raw-send-rate allows "
                + "\(policy.raw.sendRate) per second")
        }
    }

    /// The IPv4 header a spec describes; 400 naming the field that is out of range.
    private static func header(_ spec: IPHeaderSpec, protocol socketProtocol: SocketProtocol) throws -> IPv4Header {
        func address(_ text: String?, _ field: String) throws -> IPv4Address? {
            guard let text else { return nil }
            do { return try IPv4Address(text) } catch {
                throw SockpitError(.invalid, "ip_header.\(field) must be an IPv4 address, got '\(text)'", field: "ip_header.\(field)")
            }
        }
        func number(_ value: Int?, _ field: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value else { return nil }
            guard range.contains(value) else {
                throw SockpitError(.invalid, "ip_header.\(field) must be between \(range.lowerBound) and \(range.upperBound), got \(value)",
                                   field: "ip_header.\(field)")
            }
            return value
        }
        var header = IPv4Header()
        header.source = try address(spec.source, "src") ?? .any
        guard let destination = try address(spec.destination, "dst") else {
            throw SockpitError(.invalid, "ip_header.dst is required", field: "ip_header.dst")
        }
        header.destination = destination
        header.ttl = try number(spec.ttl, "ttl", 1...255) ?? 64
        header.tos = try number(spec.tos, "tos", 0...255) ?? 0
        header.identification = try number(spec.identification, "id", 0...65535) ?? 0
        header.dontFragment = spec.dontFragment ?? false
        header.protocol = try number(spec.protocol, "protocol", 0...255) ?? Int(socketProtocol.rawValue)
        return header
    }

    /// This host's addresses, or those of the socket's namespace (`getifaddrs` there).
    private func ownAddresses(of managed: ManagedSocket) throws -> [IPAddress] {
        let addresses: [SocketAddress]
        do { addresses = try managed.inNamespace { () throws(Errno) in try InterfaceAddresses.all() } } catch {
            throw SockpitError.system(error, during: "getifaddrs")
        }
        return addresses.compactMap { address in
            switch address {
            case .v4(let host, _): .v4(host)
            case .v6(let host, _, _): .v6(host)
            default: nil
            }
        }
    }
}

/// A netlink header as the API takes it for a managed netlink socket's send: the message's type, flags and
/// sequence number; `data` is its payload (the family's header and attributes).
public struct NetlinkSpec: Sendable {
    public var type: Int
    public var flags: Int
    public var sequence: Int

    /// Creates a spec.
    public init(type: Int, flags: Int, sequence: Int) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
    }
}

/// A message a managed netlink socket received, with its attributes where the family's header size is known.
public struct ReceivedNetlinkMessage: Sendable {
    public var message: NetlinkMessage
    /// `NLMSG_ERROR` (not 0): the errno and the extended acknowledgement's text.
    public var errno: String?
    public var errorMessage: String?
    /// The attributes after the family's fixed header (rtnetlink, sock_diag), each type and bytes.
    public var attributes: [(type: Int, value: [UInt8])]?
}

/// A netlink message (header and payload).
public typealias NetlinkMessage = SocketKit.NetlinkMessage

extension SocketRegistry {
    /// A managed netlink socket's message: the header built in front of `payload`; a request that changes the
    /// kernel's state (anything but a read: rtnetlink's GET types, sock_diag's dumps, generic netlink's family
    /// lookups) is refused unless `--allow-netlink-writes`.
    func netlinkMessage(_ payload: [UInt8], header spec: NetlinkSpec, on managed: ManagedSocket) throws -> [UInt8] {
        guard (0...0xffff).contains(spec.type) else {
            throw SockpitError(.invalid, "netlink.type must be 0 to 65535, got \(spec.type)", field: "netlink.type")
        }
        guard (0...0xffff).contains(spec.flags) else {
            throw SockpitError(.invalid, "netlink.flags must be 0 to 65535, got \(spec.flags)", field: "netlink.flags")
        }
        guard (0...Int(UInt32.max)).contains(spec.sequence) else {
            throw SockpitError(.invalid, "netlink.seq must be 0 to 4294967295", field: "netlink.seq")
        }
        if !policy.raw.netlinkWrites, !Self.isNetlinkRead(type: spec.type, payload: payload, protocol: managed.socket.protocol.rawValue) {
            throw SockpitError(.forbidden, "netlink message type \(spec.type) would change the kernel's state: --allow-netlink-writes "
                + "allows such requests (and the kernel wants CAP_NET_ADMIN)", field: "netlink.type")
        }
        return NetlinkMessage(type: UInt16(spec.type), flags: UInt16(spec.flags), sequence: UInt32(spec.sequence), payload: payload).encoded
    }

    /// What a netlink socket sends: one message built from `spec` and `payload`, or, without `spec`, the whole
    /// messages `payload` holds, each checked the same way.
    func netlinkDatagram(_ payload: [UInt8], header spec: NetlinkSpec?, on managed: ManagedSocket) throws -> [UInt8] {
        if let spec { return try netlinkMessage(payload, header: spec, on: managed) }
        let messages = NetlinkMessage.messages(in: payload)
        guard !messages.isEmpty else {
            throw SockpitError(.invalid, "data must be whole netlink messages (or give netlink: {type, flags, seq} and the payload)",
                               field: "data")
        }
        for message in messages {
            _ = try netlinkMessage(message.payload, header: NetlinkSpec(type: Int(message.type), flags: Int(message.flags),
                                                                         sequence: Int(message.sequence)), on: managed)
        }
        return payload
    }

    /// Whether a request only reads: rtnetlink's GET types (16 + 4k + 2), sock_diag's SOCK_DIAG_BY_FAMILY (20),
    /// generic netlink's CTRL_CMD_GETFAMILY (type 16, command 3), and netlink's own control messages (< 16).
    static func isNetlinkRead(type: Int, payload: [UInt8], protocol proto: CInt) -> Bool {
        if type < 16 { return true }
        switch proto {
        case 0: return (type - 16) % 4 == 2
        case 4: return type == 20
        case 16: return type == 16 && payload.first == 3
        default: return false
        }
    }

    /// The messages of a datagram a managed netlink socket received.
    static func netlinkMessages(_ datagram: [UInt8], protocol proto: CInt) -> [ReceivedNetlinkMessage] {
        NetlinkMessage.messages(in: datagram).map { message in
            var received = ReceivedNetlinkMessage(message: message)
            if message.type == NetlinkMessage.error, message.payload.count >= 4 {
                let code = message.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
                if code != 0 {
                    let failure = NetlinkChannel.error(from: message)
                    received.errno = failure.errno.name
                    received.errorMessage = failure.message
                }
            }
            // rtnetlink: ifinfomsg 16 (links), ifaddrmsg 8 (addresses), rtmsg 12 (routes), ndmsg 12 (neighbours);
            // sock_diag: inet_diag_msg 72 or unix_diag_msg 16, by the family in the first byte.
            let headerSize: Int? = switch (proto, message.type) {
            case (0, 16...19): 16
            case (0, 20...23): 8
            case (0, 24...31): 12
            case (4, 20): message.payload.first == UInt8(AF_UNIX) ? 16 : 72
            default: nil
            }
            if let headerSize, message.payload.count >= headerSize {
                received.attributes = NetlinkAttributes(message.payload, from: headerSize).entries.map { (Int($0.type), Array($0.value)) }
            }
            return received
        }
    }
}
