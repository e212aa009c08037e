import SystemPackage
import Storage
public import SocketKit

extension SocketRegistry {
    /// Turns a client's address into a kernel address: numeric hosts parsed, names resolved (for the socket's
    /// family), Unix names confined to the sockets directory. `field` names the request field in errors.
    /// An interface named as an IPv6 scope (`fe80::1%eth0`) is looked up in the socket's namespace.
    func resolve(_ spec: Address, for managed: ManagedSocket, field: String) async throws -> SocketAddress {
        let socket = managed.socket
        switch spec {
        case .inet(let host, let given, let scopeID):
            // A raw socket's address is a host alone: its "port" is the protocol, which socket(2) fixed.
            let raw = socket.type == .raw
            guard let port = given ?? (raw ? 0 : nil) else {
                throw SockpitError(.invalid, "\(field).port is required", field: "\(field).port")
            }
            guard !raw || port == 0 else {
                throw SockpitError(.invalid, "\(field).port must be 0 or absent: a raw socket's address is a host alone", field: "\(field).port")
            }
            guard (0...65535).contains(port) else {
                throw SockpitError(.invalid, "\(field).port must be between 0 and 65535, got \(port)", field: "\(field).port")
            }
            guard socket.family == .inet || socket.family == .inet6 else {
                throw SockpitError(.conflict, "\(field) is an IP address but this socket's family is \(socket.family.name)", field: field)
            }
            guard HostText.isValid(host) else {
                throw SockpitError(.invalid, "\(field).host must be a numeric address or a host name (letters, digits, '.', '-', ':', '%', '_'; at most 253)",
                                   field: "\(field).host")
            }
            if let scopeID, !(0...Int64(UInt32.max)).contains(scopeID) {
                throw SockpitError(.invalid, "\(field).scope_id is out of range", field: "\(field).scope_id")
            }
            let numericHost = scopeID.map { host.contains("%") ? host : "\(host)%\($0)" } ?? host
            // A zone may name an interface, which only the socket's namespace knows.
            let parsed = try? managed.inNamespace { Result { () throws(SocketAddressError) in try SocketAddress(host: numericHost, port: port) } }
            if let numeric = try? parsed?.get() { return numeric }
            do {
                let found = try await Resolver.resolve(host: host, port: UInt16(port), family: socket.family, type: socket.type)
                guard let first = found.first else {
                    throw SockpitError(.invalid, "\(field).host '\(host)' has no \(socket.family.name) address", field: "\(field).host")
                }
                return first
            } catch let error as ResolveError {
                throw SockpitError(.network, "\(field).host '\(host)' could not be resolved: \(error.message) (\(error.name))",
                                   field: "\(field).host", errno: error.name)
            }
        case .path(let name):
            guard socket.family == .unix else {
                throw SockpitError(.conflict, "\(field) is a Unix path but this socket's family is \(socket.family.name)", field: field)
            }
            let absolute = try policy.unixPaths.resolve(name, field: "\(field).path")
            do { return try SocketAddress(unixPath: absolute) } catch {
                throw SockpitError(.invalid, "\(field).path: \(error)", field: "\(field).path")
            }
        case .abstract(let name):
            guard socket.family == .unix else {
                throw SockpitError(.conflict, "\(field) is an abstract name but this socket's family is \(socket.family.name)", field: field)
            }
            if case .denied(_, let reason) = policy.targets.decide(abstract: name) {
                throw SockpitError(.forbidden, "\(field).abstract '\(name)' is not allowed: \(reason)", field: "\(field).abstract")
            }
            do { return try SocketAddress(abstractName: name) } catch {
                throw SockpitError(.invalid, "\(field).abstract: \(error)", field: "\(field).abstract")
            }
        case .netlink(let pid, let groups):
            guard socket.family == .netlink else {
                throw SockpitError(.conflict, "\(field) is a netlink address but this socket's family is \(socket.family.name)", field: field)
            }
            return .netlink(pid: pid, groups: groups)
        case .link(let link):
            guard socket.family == .packet else {
                throw SockpitError(.conflict, "\(field) is a link-layer address but this socket's family is \(socket.family.name)", field: field)
            }
            return .link(try linkAddress(link, for: managed, field: field))
        }
    }

    /// A packet socket's address from the API's: the interface by name (looked up in the socket's namespace) or
    /// index, the socket's own protocol unless another is given, the MAC when given.
    private func linkAddress(_ link: LinkSpec, for managed: ManagedSocket, field: String) throws -> LinkAddress {
        var index = link.index ?? 0
        if let name = link.interface { index = try managed.interfaceIndex(named: name, field: "\(field).interface") }
        guard index != 0 else {
            throw SockpitError(.invalid, "\(field) names no interface: give interface (a name) or index", field: "\(field).interface")
        }
        var address: [UInt8] = []
        if let text = link.address {
            guard let bytes = LinkAddress.bytes(text) else {
                throw SockpitError(.invalid, "\(field).address must be a MAC such as 02:00:00:00:00:01, got '\(text)'", field: "\(field).address")
            }
            address = bytes
        }
        let socketProtocol = UInt16(bigEndian: UInt16(truncatingIfNeeded: managed.socket.protocol.rawValue))
        guard link.protocol.map({ (0...0xffff).contains($0) }) ?? true else {
            throw SockpitError(.invalid, "\(field).protocol must be an EtherType, 0 to 65535", field: "\(field).protocol")
        }
        return LinkAddress(interfaceIndex: index, protocol: link.protocol.map { UInt16($0) } ?? socketProtocol, address: address)
    }

    /// Refuses targets the policy denies (connect, send-to).
    func checkTarget(_ address: SocketAddress, field: String) throws {
        if case .denied(let rule, let reason) = policy.targets.decide(address) {
            throw SockpitError(.forbidden, "target \(address) is denied by rule '\(rule)': \(reason)", field: field)
        }
    }

    /// The address as the API shows it (the Unix path relative to the sockets directory, no scope id when it
    /// is 0); nil for an unnamed Unix socket.
    func shown(_ address: SocketAddress, of socket: Socket) -> Address? {
        // getsockname(2) of a raw socket reports its protocol as the port.
        shown(socket.type == .raw ? address.withPort(0) : address)
    }

    /// The address as the API shows it, with a link-layer address's interface named in the socket's namespace.
    func shown(_ address: SocketAddress, of managed: ManagedSocket) -> Address? {
        guard case .link(let link) = address else { return shown(address, of: managed.socket) }
        let index = link.interfaceIndex
        return .link(LinkSpec(interface: managed.interfaceName(index: index), index: index, protocol: Int(link.protocol), hardwareType: Int(link.hardwareType),
                              packetType: link.packetTypeName, address: link.address.isEmpty ? nil : LinkAddress.text(link.address)))
    }

    /// A host socket's address as the API shows it: nil for the unspecified address with port 0 (an unconnected
    /// socket's peer), a Unix path as the kernel has it (it may be outside the sockets directory).
    public func shownForHost(_ address: SocketAddress?) -> Address? {
        switch address {
        case .v4(let host, 0)? where host == .any: nil
        case .v6(let host, 0, _)? where host == .any: nil
        case .unix(let path)?: path.isEmpty ? nil : .path(path)
        case let address?: shown(address)
        case nil: nil
        }
    }

    /// The address as the API shows it (see above), for addresses that are no raw socket's own.
    func shown(_ address: SocketAddress) -> Address? {
        switch address {
        case .v4(let host, let port): .inet(host: host.description, port: Int(port), scopeID: nil)
        case .v6(let host, let port, let scopeID): .inet(host: host.description, port: Int(port), scopeID: scopeID != 0 ? Int64(scopeID) : nil)
        case .unix(let path): path.isEmpty ? nil : .path(policy.unixPaths.displayName(for: path) ?? path)
        case .abstract(let name): .abstract(name)
        case .netlink(let pid, let groups): .netlink(pid: pid, groups: groups)
        case .link(let link):
            .link(LinkSpec(index: link.interfaceIndex, protocol: Int(link.protocol), hardwareType: Int(link.hardwareType),
                           packetType: link.packetTypeName, address: link.address.isEmpty ? nil : LinkAddress.text(link.address)))
        }
    }
}

/// What a host field may hold: IP literals (with an IPv6 scope after '%') and host names, 1 to 253 bytes.
enum HostText {
    private static let characters: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:%_".utf8))

    static func isValid(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 253 && host.utf8.allSatisfy(characters.contains)
    }
}

/// Labels are free text of at most 200 characters (Unicode scalars, as JSON Schema counts); the error names the field.
enum LabelText {
    static func validate(_ label: String?) throws {
        if let label, label.unicodeScalars.count > 200 {
            throw SockpitError(.invalid, "label is \(label.unicodeScalars.count) characters long; at most 200 are allowed", field: "label")
        }
    }
}
