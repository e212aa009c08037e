public import SocketKit
import SystemPackage

/// The host's network as `ip` shows it (issue 15): interfaces, addresses, routes and neighbours read over
/// `NETLINK_ROUTE`, in the service's own namespace or one `--allow-netns` allows, with device indexes named.
public struct HostNetwork: Sendable {
    let namespaces: Namespaces
    /// The open managed sockets by cookie, to mark the host's sockets that are Sockpit's.
    let managedCookies: @Sendable () -> [String: String]

    /// Reads through `namespaces` (for `netns`).
    public init(namespaces: Namespaces, managedCookies: @escaping @Sendable () -> [String: String] = { [:] }) {
        self.namespaces = namespaces
        self.managedCookies = managedCookies
    }

    /// What `GET /v1/host/sockets` keeps: each filter is optional.
    public struct SocketFilter: Sendable {
        public var state: String?
        public var family: String?
        public var kind: String?
        public var port: Int?
        public var address: String?

        /// Creates a filter.
        public init(state: String? = nil, family: String? = nil, kind: String? = nil, port: Int? = nil, address: String? = nil) {
            self.state = state
            self.family = family
            self.kind = kind
            self.port = port
            self.address = address
        }
    }

    /// A socket of the host, with who holds it and, when it is one of Sockpit's, which.
    public struct SocketRow: Sendable {
        public var socket: HostSocket
        public var processes: [(pid: Int32, command: String)]
        public var managedSocketID: String?

        /// Where the row stands in the table's order.
        public var position: SocketPosition {
            SocketPosition(family: socket.family.rawValue, kind: socket.kind, inode: UInt64(socket.inode), cookie: socket.cookie)
        }
    }

    /// A place in the socket table's order: family, kind, inode, then the cookie (sockets without a file, in
    /// time_wait or syn_recv, all have inode 0). As a cursor it names the last row of a page, and the next page
    /// starts after it: a socket that stays open through a walk is listed exactly once, however many others
    /// open or close between the pages.
    public struct SocketPosition: Comparable, Sendable, CustomStringConvertible {
        var family: Int32
        var kind: String
        var inode: UInt64  // a cursor may name any 10 digits
        var cookie: UInt64

        /// `family.kind.inode.cookie`, e.g. `2.tcp.48213.4097`.
        public var description: String { "\(family).\(kind).\(inode).\(cookie)" }

        /// Reads `description` (the contract's pattern: `^[0-9]{1,5}\.[a-z]{1,16}\.[0-9]{1,10}\.[0-9]{1,20}$`);
        /// nil for any other text.
        public init?(cursor: String) {
            func field(_ text: Substring, _ length: ClosedRange<Int>, _ bytes: ClosedRange<UInt8>) -> Substring? {
                length.contains(text.utf8.count) && text.utf8.allSatisfy(bytes.contains) ? text : nil
            }
            let parts = cursor.split(separator: ".", maxSplits: 4, omittingEmptySubsequences: false)
            let digits: ClosedRange<UInt8> = 48...57
            guard parts.count == 4, let family = field(parts[0], 1...5, digits).flatMap({ Int32($0) }),
                  let kind = field(parts[1], 1...16, 97...122), let inode = field(parts[2], 1...10, digits).flatMap({ UInt64($0) }),
                  let cookie = field(parts[3], 1...20, digits).map({ UInt64($0) ?? .max }) else { return nil }  // past any cookie
            self.init(family: family, kind: String(kind), inode: inode, cookie: cookie)
        }

        init(family: Int32, kind: String, inode: UInt64, cookie: UInt64) {
            self.family = family
            self.kind = kind
            self.inode = inode
            self.cookie = cookie
        }

        public static func < (a: Self, b: Self) -> Bool {
            (a.family, a.kind, a.inode, a.cookie) < (b.family, b.kind, b.inode, b.cookie)
        }
    }

    /// The host's socket table (`ss -a` for tcp, udp, raw and unix), filtered, in `SocketPosition` order; the
    /// processes that hold each socket found as `ss -p` finds them.
    public func sockets(netns: String?, filter: SocketFilter) async throws -> [SocketRow] {
        let all = try await read(netns) { namespace in try await SocketDiag.sockets(in: namespace) }
        let matching = all.filter { socket in
            if let state = filter.state, socket.state != state { return false }
            if let family = filter.family, socket.family.name != family { return false }
            if let kind = filter.kind, socket.kind != kind { return false }
            if let port = filter.port, socket.local?.port.map(Int.init) != port, socket.peer?.port.map(Int.init) != port { return false }
            if let address = filter.address, Self.host(socket.local) != address, Self.host(socket.peer) != address { return false }
            return true
        }
        let owners = SocketDiag.owners()
        let managed = managedCookies()
        return matching.map { socket in
            SocketRow(socket: socket, processes: owners[socket.inode] ?? [], managedSocketID: managed[String(socket.cookie)])
        }.sorted { $0.position < $1.position }
    }

    /// The host of an IP address (`10.0.0.1`, `::1`); nil for other kinds.
    static func host(_ address: SocketAddress?) -> String? {
        switch address {
        case .v4(let host, _)?: host.description
        case .v6(let host, _, _)?: host.description
        default: nil
        }
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
/// A socket of the host as socket diagnostics report it.
public typealias HostSocket = SocketKit.HostSocket

/// A change to the host's network, as a subscriber hears it.
public typealias RouteChange = SocketKit.RouteChange

extension HostNetwork {
    /// A subscription to the host's network changes (`GET /v1/host/events`).
    public final class Watch: Sendable {
        let channel: NetlinkChannel

        init(channel: NetlinkChannel) { self.channel = channel }

        /// What the kernel said next.
        public enum Notification: Sendable {
            /// Changes, decoded (messages of no kind asked for are left out).
            case changes([RouteChange])
            /// The kernel dropped changes (`ENOBUFS`): what a subscriber knows may be stale.
            case overrun
            /// Nothing before the deadline.
            case idle
        }

        /// Forgets the changes queued so far (after an overrun, before a snapshot: see `NetlinkChannel.discardQueued`).
        public func discardQueued() throws {
            do { try channel.discardQueued() } catch {
                throw SockpitError.system(error, during: "reading the host's network changes")
            }
        }

        /// The next notification, or `.idle` at `deadline`.
        public func next(until deadline: ContinuousClock.Instant) async throws -> Notification {
            switch try await channel.notification(until: deadline) {
            case nil: .idle
            case .overrun?: .overrun
            case .messages(let messages)?: .changes(messages.compactMap(RouteChange.init))
            }
        }
    }

    /// Subscribes to changes of `kinds` (link, address, route, neighbour) in `netns`; `receiveBuffer` sets the
    /// subscription's `SO_RCVBUF` (small ones overrun sooner).
    public func watch(netns: String?, kinds: [String], receiveBuffer: Int?) throws -> Watch {
        let namespace = try netns.map { try namespaces.open($0) }
        do {
            let channel = try NetlinkChannel(protocol: .netlinkRoute, in: namespace)
            try channel.subscribe(groups: RouteChange.groups(kinds), receiveBuffer: receiveBuffer)
            return Watch(channel: channel)
        } catch {
            throw SockpitError.system(error, during: "subscribing to the host's network changes")
        }
    }
}
