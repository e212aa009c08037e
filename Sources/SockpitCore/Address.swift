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

    /// The history's form: `{"host","port"[,"scope_id"]}`, `{"path"}`, `{"abstract"}` or `{"pid","groups"}`.
    public var detail: Detail {
        switch self {
        case .inet(let host, let port, let scopeID):
            var members: [String: Detail] = ["host": .string(host)]
            if let port { members["port"] = .int(Int64(port)) }
            if let scopeID { members["scope_id"] = .int(scopeID) }
            return .object(members)
        case .path(let name): return .object(["path": .string(name)])
        case .abstract(let name): return .object(["abstract": .string(name)])
        case .netlink(let pid, let groups): return .object(["pid": .int(Int64(pid)), "groups": .int(Int64(groups))])
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
        } else if let pid = members["pid"]?.int.flatMap(UInt32.init(exactly:)),
                  let groups = members["groups"]?.int.flatMap(UInt32.init(exactly:)) {
            self = .netlink(pid: pid, groups: groups)
        } else {
            return nil
        }
    }
}
