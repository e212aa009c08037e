import Foundation
import Synchronization

/// Hosts for tests: network namespaces on one bridge, each with IPv4 and IPv6 addresses, made with `ip` and
/// always removed again (the tests of sockets across hosts, and later raw sockets and netlink).
///
/// The bridge lives in a namespace of its own (the "switch"), and each host's `eth0` is made directly inside its
/// namespace: nothing of the rig appears in the namespace the tests run in. Names are unique per process and
/// rig (`sprig<PID>x<N>-<letter>`); a rig left behind by a test process that died is removed the next time one is
/// made. Host `i` (from 0) has `10.99.0.(i+1)/24` and `fd99::(i+1)/64` (no duplicate address detection).
public struct NamespaceRig: Sendable {
    /// One host of the rig.
    public struct Host: Sendable {
        /// Its namespace's name under /run/netns (what `netns` takes).
        public let name: String
        /// `a`, `b`, `c`, ...
        public let letter: String
        /// Its IPv4 address on the bridge.
        public let ipv4: String
        /// Its IPv6 address on the bridge.
        public let ipv6: String
        /// Its interface on the bridge.
        public let interface = "eth0"
    }

    /// The hosts, `a` first.
    public let hosts: [Host]
    /// The namespace that holds the bridge.
    public let switchName: String
    /// The subnet's IPv4 broadcast address.
    public static let broadcast = "10.99.0.255"

    /// Why no rig can be made here, or nil: it needs root and `ip`.
    public static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "needs root to make network namespaces (ip netns add)" }
        guard let ip = try? command(["-V"]), ip.contains("iproute2") else { return "needs iproute2's ip" }
        return nil
    }()

    /// Whether a rig can be made here.
    public static var isAvailable: Bool { unavailableReason == nil }

    private static let counter = Atomic<Int>(0)

    /// Makes `count` hosts on a bridge, runs `body`, and removes every namespace, veth and bridge it made, also
    /// when `body` throws. Fails if anything of it remains after.
    public static func with<T>(hosts count: Int, _ body: (NamespaceRig) async throws -> T) async throws -> T {
        precondition((1...26).contains(count))
        removeAbandoned()
        let prefix = "sprig\(getpid())x\(counter.add(1, ordering: .relaxed).newValue)"
        let rig = NamespaceRig(
            hosts: (0..<count).map { index in
                let letter = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
                return Host(name: "\(prefix)-\(letter)", letter: letter, ipv4: "10.99.0.\(index + 1)", ipv6: "fd99::\(index + 1)")
            },
            switchName: "\(prefix)-sw")
        let result: T
        do {
            try rig.build()
            result = try await body(rig)
        } catch {
            try? rig.remove()
            throw error
        }
        try rig.remove()
        return result
    }

    /// A routed chain: `a`, then `routers` routers, then `c`, each link a /24 of its own (link `i`, from 1, is
    /// `10.98.i.0/24`, its west end `.1`, its east end `.2`), forwarding on in the routers, and no ICMP rate limit
    /// anywhere (so that a trace sees every hop). `body` gets the namespaces in order, a first, c last; each host's
    /// `ipv4` is its address on the link towards a (a's: towards the first router).
    public static func withChain<T>(routers: Int, _ body: ([Host]) async throws -> T) async throws -> T {
        precondition((1...8).contains(routers))
        removeAbandoned()
        let prefix = "sprig\(getpid())x\(counter.add(1, ordering: .relaxed).newValue)"
        let count = routers + 2
        let letters = ["a"] + (1...routers).map { "r\($0)" } + ["c"]
        let hosts = (0..<count).map { index in
            // a's address is on link 1 (.1); every other node's is the east end (.2) of the link to its west.
            Host(name: "\(prefix)-\(letters[index])", letter: letters[index], ipv4: index == 0 ? "10.98.1.1" : "10.98.\(index).2", ipv6: "")
        }
        let rig = NamespaceRig(hosts: hosts, switchName: "\(prefix)-none")
        let result: T
        do {
            for host in hosts {
                try command(["netns", "add", host.name])
                try command(["-n", host.name, "link", "set", "lo", "up"])
                try command(["netns", "exec", host.name, "sh", "-c",
                             "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 0 > /proc/sys/net/ipv4/icmp_ratelimit"])
            }
            for link in 1..<count {
                let (west, east) = (hosts[link - 1], hosts[link])
                try command(["-n", west.name, "link", "add", "east", "type", "veth", "peer", "name", "west", "netns", east.name])
                try command(["-n", west.name, "addr", "add", "10.98.\(link).1/24", "dev", "east"])
                try command(["-n", east.name, "addr", "add", "10.98.\(link).2/24", "dev", "west"])
                try command(["-n", west.name, "link", "set", "east", "up"])
                try command(["-n", east.name, "link", "set", "west", "up"])
            }
            // Ready when every link end has its carrier (a probe sent before would be dropped on the way).
            let deadline = Date().addingTimeInterval(10)
            for (index, host) in hosts.enumerated() {
                for interface in [index > 0 ? "west" : nil, index < count - 1 ? "east" : nil].compactMap({ $0 }) {
                    while try !command(["-n", host.name, "-o", "link", "show", interface]).contains("state UP") {
                        guard Date() < deadline else { throw RigError(message: "\(host.name)'s \(interface) did not come up") }
                        usleep(5_000)
                    }
                }
            }
            // a and the routers but the last send everything east; the last router and c send it west; routers
            // reach the subnets west of them through their west neighbour.
            for (index, host) in hosts.enumerated() {
                if index < count - 2 {
                    try command(["-n", host.name, "route", "add", "default", "via", "10.98.\(index + 1).2"])
                    for link in 1..<max(index, 1) where index >= 2 {
                        try command(["-n", host.name, "route", "add", "10.98.\(link).0/24", "via", "10.98.\(index).1"])
                    }
                } else {
                    try command(["-n", host.name, "route", "add", "default", "via", "10.98.\(index).1"])
                }
            }
            result = try await body(hosts)
        } catch {
            try? rig.remove()
            throw error
        }
        try rig.remove()
        return result
    }

    /// Makes a chain node stay silent, as many routers do: its ICMP error messages (time exceeded, unreachable) are
    /// rate-limited to one a day (`net.ipv4.icmp_ratelimit`, per peer, which starts with a minute's worth of
    /// tokens: none is sent). Forwarded ICMP is not limited.
    public static func silence(_ host: Host) throws {
        try command(["netns", "exec", host.name, "sh", "-c", "echo 86400000 > /proc/sys/net/ipv4/icmp_ratelimit"])
    }

    /// Runs a program inside the host's namespace (`ip netns exec`): `exec(host, ["ping", "-c1", ...])`.    /// Runs a program inside the host's namespace (`ip netns exec`): `exec(host, ["ping", "-c1", ...])`.
    @discardableResult
    public func exec(_ host: Host, _ arguments: [String]) throws -> String {
        try Self.command(["netns", "exec", host.name] + arguments)
    }

    private func build() throws {
        let sw = switchName
        try Self.command(["netns", "add", sw])
        try Self.command(["-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        try Self.command(["-n", sw, "link", "set", "br0", "up"])
        for (index, host) in hosts.enumerated() {
            try Self.command(["netns", "add", host.name])
            try Self.command(["-n", host.name, "link", "set", "lo", "up"])
            try Self.command(["-n", sw, "link", "add", "v\(index)", "type", "veth", "peer", "name", host.interface, "netns", host.name])
            try Self.command(["-n", sw, "link", "set", "v\(index)", "master", "br0", "up"])
            try Self.command(["-n", host.name, "addr", "add", "\(host.ipv4)/24", "broadcast", Self.broadcast, "dev", host.interface])
            try Self.command(["-n", host.name, "addr", "add", "\(host.ipv6)/64", "dev", host.interface, "nodad"])
            try Self.command(["-n", host.name, "link", "set", host.interface, "up"])
            // Multicast leaves by eth0 without a default route (a group send otherwise finds no route).
            try Self.command(["-n", host.name, "route", "add", "224.0.0.0/4", "dev", host.interface])
        }
        // Ready when every host's eth0 has its carrier (the bridge port on the other end is up too).
        let deadline = Date().addingTimeInterval(10)
        for host in hosts {
            while try !Self.command(["-n", host.name, "-o", "link", "show", host.interface]).contains("state UP") {
                guard Date() < deadline else { throw RigError(message: "\(host.name)'s \(host.interface) did not come up") }
                usleep(5_000)
            }
        }
    }

    /// Deletes the namespaces (their veths and the bridge go with them) and checks that none is left.
    private func remove() throws {
        let names = hosts.map(\.name) + [switchName]
        for name in names { _ = try? Self.command(["netns", "del", name]) }
        let left = Self.namespaces().filter(names.contains)
        guard left.isEmpty else { throw RigError(message: "namespaces left behind: \(left)") }
    }

    /// Removes the rigs of test processes that are gone.
    private static func removeAbandoned() {
        for name in namespaces() where name.hasPrefix("sprig") {
            let pid = name.dropFirst(5).prefix { $0.isNumber }
            if let pid = Int32(pid), kill(pid, 0) != 0, errno == ESRCH { _ = try? command(["netns", "del", name]) }
        }
    }

    /// The names `ip netns list` shows.
    public static func namespaces() -> [String] {
        ((try? command(["netns", "list"])) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Where `ip` is.
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs `ip ARGS` and answers its standard output; throws with its standard error when it fails.
    @discardableResult
    static func command(_ arguments: [String]) throws -> String {
        guard let ip else { throw RigError(message: "no ip command") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let output = Pipe(), failure = Pipe()
        process.standardOutput = output
        process.standardError = failure
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: failure.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RigError(message: "ip \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(error)")
        }
        return text
    }
}

/// A rig command that failed.
public struct RigError: Error, CustomStringConvertible {
    /// What failed, with `ip`'s own words.
    public let message: String
    public var description: String { message }
}
