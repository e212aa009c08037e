import Glibc

/// A network interface as `RTM_GETLINK` reports it, with the names `ip -j link` gives its fields.
public struct LinkInfo: Sendable, Equatable {
    public var index: Int
    public var name: String
    /// `ip`'s flag words in its order: NO-CARRIER (up without carrier), then LOOPBACK, BROADCAST, ..., UP, LOWER_UP.
    public var flags: [String]
    public var mtu: Int?
    public var qdisc: String?
    /// UNKNOWN, NOTPRESENT, DOWN, LOWERLAYERDOWN, TESTING, DORMANT, UP.
    public var operstate: String?
    /// DEFAULT or DORMANT.
    public var linkmode: String?
    /// `default` for group 0.
    public var group: String?
    public var txqlen: Int?
    /// `ether`, `loopback`, `none`, ... (`ARPHRD_*`).
    public var linkType: String
    public var address: String?
    public var broadcast: String?
    /// The peer's or lower device's index (`IFLA_LINK`).
    public var linkIndex: Int?
    /// When that device is in another namespace: its id as this one knows it (`IFLA_LINK_NETNSID`).
    public var linkNetnsid: Int?
    /// The bridge or bond it is enslaved to (`IFLA_MASTER`).
    public var masterIndex: Int?
    /// `IFLA_INFO_KIND`: veth, bridge, dummy, ...
    public var kind: String?
    /// `IFLA_STATS64`: rx and tx counters.
    public var stats: [String: [String: UInt64]]?
}

/// An address of an interface (`RTM_GETADDR`), with `ip -j addr`'s names.
public struct AddressInfo: Sendable, Equatable {
    public var index: Int
    /// inet or inet6.
    public var family: String
    public var local: String?
    /// The peer of a point-to-point address (`IFA_ADDRESS` when it differs from `IFA_LOCAL`).
    public var peer: String?
    public var prefixLength: Int
    public var broadcast: String?
    /// global, site, link, host, nowhere, or the number.
    public var scope: String
    public var label: String?
    public var validLifetime: UInt32?
    public var preferredLifetime: UInt32?
    /// `ip`'s flag words that are set: secondary, nodad, optimistic, dadfailed, home, deprecated, tentative,
    /// permanent is the absence of dynamic, mngtmpaddr, noprefixroute, autojoin, stable-privacy.
    public var flags: [String]
}

/// A route (`RTM_GETROUTE`, every table), with `ip -j route`'s names.
public struct RouteInfo: Sendable, Equatable {
    public var family: String
    /// unicast, local, broadcast, multicast, blackhole, unreachable, prohibit, throw, ...
    public var type: String
    /// `default`, an address, or an address/prefix length.
    public var destination: String
    public var gateway: String?
    public var deviceIndex: Int?
    /// main, local, default, or the number.
    public var table: String
    /// kernel, boot, static, ra, dhcp, ... or the number.
    public var `protocol`: String
    /// global, site, link, host, nowhere.
    public var scope: String
    public var preferredSource: String?
    public var metric: UInt32?
    /// RTNH_F_* words: dead, pervasive, onlink, offload, linkdown, unresolved, trap.
    public var flags: [String]
    /// IPv6 router preference: low, medium, high.
    public var preference: String?
}

/// A neighbour (ARP / NDP) entry (`RTM_GETNEIGH`), with `ip -j neigh`'s names.
public struct NeighbourInfo: Sendable, Equatable {
    public var family: String
    public var destination: String
    public var deviceIndex: Int
    public var lladdr: String?
    /// INCOMPLETE, REACHABLE, STALE, DELAY, PROBE, FAILED, NOARP, PERMANENT.
    public var state: [String]
    /// `router`, `proxy`, ... (`NTF_*`).
    public var flags: [String]
}

/// The host's interfaces, addresses, routes and neighbours, read over `NETLINK_ROUTE` (rtnetlink(7)) in a namespace.
public enum RouteNetlink {
    /// Every interface.
    public static func links(in namespace: NetworkNamespace? = nil) async throws -> [LinkInfo] {
        let channel = try NetlinkChannel(protocol: .netlinkRoute, in: namespace)
        // struct ifinfomsg: family, pad, type, index, flags, change (16 bytes).
        let answers = try await channel.dump(type: 18, payload: [UInt8](repeating: 0, count: 16))  // RTM_GETLINK
        return answers.filter { $0.type == 16 && $0.payload.count >= 16 }.map(link)
    }

    /// Every address of every interface.
    public static func addresses(in namespace: NetworkNamespace? = nil) async throws -> [AddressInfo] {
        let channel = try NetlinkChannel(protocol: .netlinkRoute, in: namespace)
        let answers = try await channel.dump(type: 22, payload: [UInt8](repeating: 0, count: 8))  // RTM_GETADDR, ifaddrmsg
        return answers.filter { $0.type == 20 && $0.payload.count >= 8 }.map(address)
    }

    /// Every route of every table, IPv4 and IPv6.
    public static func routes(in namespace: NetworkNamespace? = nil) async throws -> [RouteInfo] {
        let channel = try NetlinkChannel(protocol: .netlinkRoute, in: namespace)
        let answers = try await channel.dump(type: 26, payload: [UInt8](repeating: 0, count: 12))  // RTM_GETROUTE, rtmsg
        return answers.filter { $0.type == 24 && $0.payload.count >= 12 }.compactMap(route)
    }

    /// Every neighbour entry, IPv4 and IPv6.
    public static func neighbours(in namespace: NetworkNamespace? = nil) async throws -> [NeighbourInfo] {
        let channel = try NetlinkChannel(protocol: .netlinkRoute, in: namespace)
        let answers = try await channel.dump(type: 30, payload: [UInt8](repeating: 0, count: 12))  // RTM_GETNEIGH, ndmsg
        return answers.filter { $0.type == 28 && $0.payload.count >= 12 }.compactMap(neighbour)
    }

    // MARK: - Decoding

    static func link(_ message: NetlinkMessage) -> LinkInfo {
        let p = message.payload
        let type = UInt16(p[2]) | UInt16(p[3]) << 8
        let index = Int(p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) })
        let flags = p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }
        let attributes = NetlinkAttributes(p, from: 16)
        var info = LinkInfo(index: index, name: attributes.string(3) ?? "", flags: linkFlags(flags),
                            linkType: hardwareTypes[type] ?? String(type))
        info.mtu = attributes.unsigned(4).map { Int($0) }
        info.qdisc = attributes.string(6)
        info.operstate = attributes.unsigned(16).map { operstates[Int($0)] ?? String($0) }
        info.linkmode = attributes.unsigned(17).map { $0 == 1 ? "DORMANT" : $0 == 0 ? "DEFAULT" : String($0) }
        info.group = attributes.unsigned(27).map { $0 == 0 ? "default" : String($0) }
        info.txqlen = attributes.unsigned(13).map { Int($0) }
        info.address = attributes[1].map { LinkAddress.text(Array($0)) }
        info.broadcast = attributes[2].map { LinkAddress.text(Array($0)) }
        info.linkIndex = attributes.unsigned(5).map { Int($0) }.flatMap { $0 == index ? nil : $0 }
        info.linkNetnsid = attributes[37].flatMap { $0.count == 4 ? Int(Int32(truncatingIfNeeded: attributes.unsigned(37) ?? 0)) : nil }
        info.masterIndex = attributes.unsigned(10).map { Int($0) }
        info.kind = attributes.nested(18)?.string(1)
        if let stats = attributes[23], stats.count >= 8 * 10 {
            let counter = { (n: Int) -> UInt64 in Array(stats).withUnsafeBytes { $0.loadUnaligned(fromByteOffset: n * 8, as: UInt64.self) } }
            // struct rtnl_link_stats64: rx/tx packets, bytes, errors, dropped, multicast, collisions, ...
            info.stats = [
                "rx": ["packets": counter(0), "bytes": counter(2), "errors": counter(4), "dropped": counter(6), "multicast": counter(8)],
                "tx": ["packets": counter(1), "bytes": counter(3), "errors": counter(5), "dropped": counter(7), "collisions": counter(9)],
            ]
        }
        return info
    }

    static func address(_ message: NetlinkMessage) -> AddressInfo {
        let p = message.payload
        let family = CInt(p[0])
        let index = Int(p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) })
        let attributes = NetlinkAttributes(p, from: 8)
        let flags = attributes.unsigned(8).map { UInt32($0) } ?? UInt32(p[2])  // IFA_FLAGS, else the 8-bit ifa_flags
        let local = attributes[2].flatMap { ip($0, family: family) }
        let address = attributes[1].flatMap { ip($0, family: family) }
        var info = AddressInfo(index: index, family: family == AF_INET6 ? "inet6" : "inet", local: local ?? address,
                               prefixLength: Int(p[1]), scope: scopes[Int(p[3])] ?? String(p[3]), flags: addressFlags(flags))
        if let local, let address, local != address { info.peer = address }
        info.broadcast = attributes[4].flatMap { ip($0, family: family) }
        info.label = attributes.string(3)
        if let cache = attributes[6], cache.count >= 8 {
            let values = Array(cache)
            info.preferredLifetime = values.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            info.validLifetime = values.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }
        }
        return info
    }

    static func route(_ message: NetlinkMessage) -> RouteInfo? {
        let p = message.payload
        let family = CInt(p[0])
        guard family == AF_INET || family == AF_INET6 else { return nil }
        let attributes = NetlinkAttributes(p, from: 12)
        let prefix = Int(p[1])
        let table = attributes.unsigned(15).map { Int($0) } ?? Int(p[4])
        var destination = "default"
        if let dst = attributes[1].flatMap({ ip($0, family: family) }) {
            destination = prefix == (family == AF_INET ? 32 : 128) ? dst : "\(dst)/\(prefix)"
        } else if prefix != 0 {
            destination = "\(family == AF_INET ? "0.0.0.0" : "::")/\(prefix)"
        }
        let flags = p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }
        var info = RouteInfo(family: family == AF_INET6 ? "inet6" : "inet", type: routeTypes[Int(p[7])] ?? String(p[7]),
                             destination: destination, table: tables[table] ?? String(table),
                             protocol: protocols[Int(p[5])] ?? String(p[5]), scope: scopes[Int(p[6])] ?? String(p[6]),
                             flags: routeFlags(flags))
        info.gateway = attributes[5].flatMap { ip($0, family: family) }
        info.deviceIndex = attributes.unsigned(4).map { Int($0) }
        info.preferredSource = attributes[7].flatMap { ip($0, family: family) }
        info.metric = attributes.unsigned(6).map { UInt32($0) }
        info.preference = attributes.unsigned(20).map { ["medium", "high", "", "low"][Int($0) & 3] }  // ICMPV6_ROUTER_PREF_*
        return info
    }

    static func neighbour(_ message: NetlinkMessage) -> NeighbourInfo? {
        let p = message.payload
        let family = CInt(p[0])
        guard family == AF_INET || family == AF_INET6, let destination = NetlinkAttributes(p, from: 12)[1].flatMap({ ip($0, family: family) })
        else { return nil }
        let attributes = NetlinkAttributes(p, from: 12)
        let index = Int(p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) })
        let state = p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt16.self) }
        let states = [(0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"), (0x10, "PROBE"), (0x20, "FAILED"),
                      (0x40, "NOARP"), (0x80, "PERMANENT")].filter { Int(state) & $0.0 != 0 }.map(\.1)
        let flagNames = [(0x01, "use"), (0x02, "self"), (0x04, "master"), (0x08, "proxy"), (0x10, "extern_learn"), (0x20, "offload"),
                         (0x80, "router")].filter { Int(p[10]) & $0.0 != 0 }.map(\.1)
        return NeighbourInfo(family: family == AF_INET6 ? "inet6" : "inet", destination: destination, deviceIndex: index,
                             lladdr: attributes[2].map { LinkAddress.text(Array($0)) }, state: states.isEmpty ? ["NONE"] : states,
                             flags: flagNames)
    }

    private static func ip(_ bytes: ArraySlice<UInt8>, family: CInt) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let raw = Array(bytes)
        guard (family == AF_INET && raw.count == 4) || (family == AF_INET6 && raw.count == 16) else { return nil }
        return raw.withUnsafeBytes { source in
            inet_ntop(family, source.baseAddress, &buffer, socklen_t(buffer.count)) != nil
                ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
        }
    }

    /// `ip`'s link flags, in its order (it leaves out RUNNING and says NO-CARRIER for up without LOWER_UP).
    static func linkFlags(_ flags: UInt32) -> [String] {
        let order: [(UInt32, String)] = [
            (0x8, "LOOPBACK"), (0x2, "BROADCAST"), (0x10, "POINTOPOINT"), (0x1000, "MULTICAST"), (0x80, "NOARP"),
            (0x200, "ALLMULTI"), (0x100, "PROMISC"), (0x20, "NOTRAILERS"), (0x4, "DEBUG"), (0x8000, "DYNAMIC"),
            (0x4000, "AUTOMEDIA"), (0x2000, "PORTSEL"), (0x400, "MASTER"), (0x800, "SLAVE"), (0x1, "UP"), (0x10000, "LOWER_UP"),
            (0x20000, "DORMANT"), (0x40000, "ECHO"),
        ]
        let carrier = flags & 0x1 != 0 && flags & 0x10000 == 0 ? ["NO-CARRIER"] : []
        return carrier + order.filter { flags & $0.0 != 0 }.map(\.1)
    }

    /// `ip`'s words for `IFA_F_*` (permanent is printed by it only as the absence of `dynamic`).
    static func addressFlags(_ flags: UInt32) -> [String] {
        [(0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"), (0x10, "home"), (0x20, "deprecated"),
         (0x40, "tentative"), (0x100, "mngtmpaddr"), (0x200, "noprefixroute"), (0x400, "autojoin"), (0x800, "stable-privacy")]
            .filter { flags & $0.0 != 0 }.map(\.1) + (flags & 0x80 == 0 ? ["dynamic"] : [])
    }

    static func routeFlags(_ flags: UInt32) -> [String] {
        [(0x1, "dead"), (0x2, "pervasive"), (0x4, "onlink"), (0x8, "offload"), (0x10, "linkdown"), (0x20, "unresolved"), (0x40, "trap")]
            .filter { flags & $0.0 != 0 }.map(\.1)
    }

    static let hardwareTypes: [UInt16: String] = [
        1: "ether", 772: "loopback", 65534: "none", 768: "ipip", 776: "sit", 778: "gre", 823: "ip6gre", 769: "tunnel6", 0: "netrom",
        512: "ppp", 280: "can", 65535: "void",
    ]
    static let operstates = [0: "UNKNOWN", 1: "NOTPRESENT", 2: "DOWN", 3: "LOWERLAYERDOWN", 4: "TESTING", 5: "DORMANT", 6: "UP"]
    static let scopes = [0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"]
    static let tables = [0: "unspec", 253: "default", 254: "main", 255: "local"]
    static let routeTypes = [0: "unspec", 1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
                             7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat", 11: "xresolve"]
    static let protocols = [0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra", 10: "mrt", 11: "zebra",
                            12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp", 17: "mrouted", 18: "keepalived", 42: "babel",
                            99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 192: "eigrp"]
}

/// One change the kernel announced to an rtnetlink subscriber (`RTM_NEW*` / `RTM_DEL*`), decoded like the dumps.
public enum RouteChange: Sendable {
    case link(deleted: Bool, LinkInfo)
    case address(deleted: Bool, AddressInfo)
    case route(deleted: Bool, RouteInfo)
    case neighbour(deleted: Bool, NeighbourInfo)

    /// The change a notification message stands for; nil for any other message.
    public init?(_ message: NetlinkMessage) {
        let deleted = message.type % 4 == 1
        let size = message.payload.count
        switch message.type {
        case 16, 17:
            guard size >= 16 else { return nil }
            self = .link(deleted: deleted, RouteNetlink.link(message))
        case 20, 21:
            guard size >= 8 else { return nil }
            self = .address(deleted: deleted, RouteNetlink.address(message))
        case 24, 25:
            guard size >= 12, let route = RouteNetlink.route(message) else { return nil }
            self = .route(deleted: deleted, route)
        case 28, 29:
            guard size >= 12, let neighbour = RouteNetlink.neighbour(message) else { return nil }
            self = .neighbour(deleted: deleted, neighbour)
        default: return nil
        }
    }

    /// The `RTMGRP_*` bits of a kind of change: link 0x1; address 0x10 (IPv4) | 0x100 (IPv6); route 0x40 | 0x400;
    /// neighbour 0x4.
    public static func groups(_ kinds: [String]) -> UInt32 {
        kinds.reduce(0) { bits, kind in
            bits | (["link": 0x1, "address": 0x110, "route": 0x440, "neighbour": 0x4][kind] ?? 0)
        }
    }
}
