public import Storage

/// An address as the API takes and shows it: a client's before resolution and confinement, and a socket's
/// as the kernel reported it (a Unix path relative to the sockets directory). The one form between the
/// kernel's `SocketAddress` and the API schema; the history keeps it as a `Detail`.
public enum Address: Sendable, Equatable {
    /// A numeric IPv4/IPv6 address or a host name, with a port (and an IPv6 scope when not 0). The port is
    /// absent only where a client left it out, which a raw socket's address may (it has none).
    case inet(host: String, port: Int?, scopeID: Int64?)
    /// A Unix name inside the sockets directory.
    case path(String)
    /// A name in the Linux abstract namespace.
    case abstract(String)
    /// A netlink port id and multicast groups.
    case netlink(pid: UInt32, groups: UInt32)
    /// A packet socket's link-layer address: an interface (by name when the client gives it), and as the kernel
    /// reports it, the interface index, Ethernet protocol, hardware type, packet type and MAC.
    case link(LinkSpec)

    /// The history's form, the API's: `{"host","port"[,"scope_id"]}`, `{"path"}`, `{"abstract"}`, `{"interface",...}` or
    /// `{"netlink": {"pid","groups"}}`.
    public var detail: Detail {
        switch self {
        case .inet(let host, let port, let scopeID):
            var members: [String: Detail] = ["host": .string(host)]
            if let port { members["port"] = .int(Int64(port)) }
            if let scopeID { members["scope_id"] = .int(scopeID) }
            return .object(members)
        case .path(let name): return .object(["path": .string(name)])
        case .abstract(let name): return .object(["abstract": .string(name)])
        case .netlink(let pid, let groups): return .object(["netlink": .object(["pid": .int(Int64(pid)), "groups": .int(Int64(groups))])])
        case .link(let link):
            var members: [String: Detail] = [:]
            if let name = link.interface { members["interface"] = .string(name) }
            if let index = link.index { members["index"] = .int(Int64(index)) }
            if let proto = link.protocol { members["protocol"] = .int(Int64(proto)) }
            if let type = link.hardwareType { members["hardware_type"] = .int(Int64(type)) }
            if let type = link.packetType { members["packet_type"] = .string(type) }
            if let address = link.address { members["address"] = .string(address) }
            return .object(members)
        }
    }

    /// The address a history value stands for; nil when it has none of the shapes `detail` writes.
    public init?(detail: Detail) {
        guard let members = detail.members else { return nil }
        if let host = members["host"]?.string {
            self = .inet(host: host, port: members["port"]?.int.map { Int($0) }, scopeID: members["scope_id"]?.int)
        } else if let name = members["path"]?.string {
            self = .path(name)
        } else if let name = members["abstract"]?.string {
            self = .abstract(name)
        } else if members["interface"] != nil || members["index"] != nil {
            self = .link(LinkSpec(
                interface: members["interface"]?.string, index: members["index"]?.int.flatMap(UInt32.init(exactly:)),
                protocol: members["protocol"]?.int.map { Int($0) }, hardwareType: members["hardware_type"]?.int.map { Int($0) },
                packetType: members["packet_type"]?.string, address: members["address"]?.string))
        } else if let netlink = members["netlink"]?.members, let pid = netlink["pid"]?.int.flatMap(UInt32.init(exactly:)),
                  let groups = netlink["groups"]?.int.flatMap(UInt32.init(exactly:)) {
            self = .netlink(pid: pid, groups: groups)
        } else {
            return nil
        }
    }
}

/// A link-layer address as the API takes and shows it (see ``Address/link(_:)``).
public struct LinkSpec: Sendable, Equatable {
    /// The interface's name, in the socket's namespace.
    public var interface: String?
    /// The interface's index.
    public var index: UInt32?
    /// The Ethernet protocol (EtherType).
    public var `protocol`: Int?
    /// `ARPHRD_*` (1 Ethernet).
    public var hardwareType: Int?
    /// host, broadcast, multicast, otherhost, outgoing.
    public var packetType: String?
    /// The MAC, `aa:bb:cc:dd:ee:ff`.
    public var address: String?

    /// Creates a spec; a bind needs only the interface.
    public init(interface: String? = nil, index: UInt32? = nil, protocol: Int? = nil, hardwareType: Int? = nil,
                packetType: String? = nil, address: String? = nil) {
        self.interface = interface
        self.index = index
        self.protocol = `protocol`
        self.hardwareType = hardwareType
        self.packetType = packetType
        self.address = address
    }
}
