public import SocketKit
import SystemPackage

/// The host's network as `ip` shows it (issue 15): interfaces, addresses, routes and neighbours read over
/// `NETLINK_ROUTE`, in the service's own namespace or one `--allow-netns` allows, with device indexes named.
public struct HostNetwork: Sendable {
    let namespaces: Namespaces

    /// Reads through `namespaces` (for `netns`).
    public init(namespaces: Namespaces) {
        self.namespaces = namespaces
    }

    /// Every interface.
    public func links(netns: String?) async throws -> [LinkInfo] {
        try await read(netns) { namespace in try await RouteNetlink.links(in: namespace) }
    }

    /// Every address, with its interface's name.
    public func addresses(netns: String?) async throws -> [(AddressInfo, ifname: String?)] {
        try await read(netns) { namespace in
            let names = try await Self.names(in: namespace)
            return try await RouteNetlink.addresses(in: namespace).map { ($0, names[$0.index]) }
        }
    }

    /// Every route of every table, with its device's name.
    public func routes(netns: String?) async throws -> [(RouteInfo, dev: String?)] {
        try await read(netns) { namespace in
            let names = try await Self.names(in: namespace)
            return try await RouteNetlink.routes(in: namespace).map { ($0, $0.deviceIndex.flatMap { names[$0] }) }
        }
    }

    /// Every neighbour entry, with its device's name.
    public func neighbours(netns: String?) async throws -> [(NeighbourInfo, dev: String?)] {
        try await read(netns) { namespace in
            let names = try await Self.names(in: namespace)
            return try await RouteNetlink.neighbours(in: namespace).map { ($0, names[$0.deviceIndex]) }
        }
    }

    /// Interface names by index, for the views that name devices.
    public func interfaceNames(netns: String?) async throws -> [Int: String] {
        try await read(netns) { namespace in try await Self.names(in: namespace) }
    }

    private static func names(in namespace: NetworkNamespace?) async throws -> [Int: String] {
        Dictionary(try await RouteNetlink.links(in: namespace).map { ($0.index, $0.name) }) { first, _ in first }
    }

    private func read<T>(_ netns: String?, _ body: (NetworkNamespace?) async throws -> T) async throws -> T {
        let namespace = try netns.map { try namespaces.open($0) }
        do { return try await body(namespace) } catch let error as NetlinkError {
            throw SockpitError(.unavailable, "the kernel's netlink answer failed: \(error)", errno: error.errno.name)
        } catch let error as Errno {
            throw SockpitError.system(error, during: "reading the host's network over netlink")
        }
    }
}

/// An interface as netlink reports it.
public typealias LinkInfo = SocketKit.LinkInfo
/// An interface address as netlink reports it.
public typealias AddressInfo = SocketKit.AddressInfo
/// A route as netlink reports it.
public typealias RouteInfo = SocketKit.RouteInfo
/// A neighbour entry as netlink reports it.
public typealias NeighbourInfo = SocketKit.NeighbourInfo
