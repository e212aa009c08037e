import Glibc
public import SystemPackage

/// The addresses configured on this host's network interfaces, as `ip address` lists them.
///
/// Used to tell a local target from a remote one and to offer bind addresses. `getifaddrs(3)` answers
/// from one netlink dump of the kernel's tables: it does not block on anything but the kernel.
public enum InterfaceAddresses {
    /// every address configured on this host's interfaces (getifaddrs), v4 and v6
    ///
    /// Each comes with port 0, once, in the kernel's order (IPv4 first); IPv6 link-local addresses
    /// carry their interface index as `scopeID`. Interfaces without an IP address are left out.
    ///
    /// - Throws: the `Errno` of `getifaddrs` (`ENOMEM`, `EMFILE` for the netlink socket it opens).
    public static func all() throws(Errno) -> [SocketAddress] {
        try collect { interface in interface.ifa_addr.flatMap(decode).map { [$0] } ?? [] }
    }

    /// The IPv4 broadcast addresses of this host's interfaces, each once, with port 0: a datagram sent to one
    /// reaches this host's own listeners too. Both the `brd` an address was given (`ip address`) and the one its
    /// prefix implies (`address | ~netmask`, for prefixes up to /30): the kernel routes the second as a broadcast
    /// (`ip route show table local`) even when no `brd` was set, which `ip address add 198.18.0.1/24` does not.
    ///
    /// - Throws: the `Errno` of `getifaddrs`.
    public static func broadcasts() throws(Errno) -> [SocketAddress] {
        try collect { interface in
            guard let address = interface.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { return [] }
            var found: [SocketAddress] = []
            // glibc's ifa_broadaddr is the union member ifa_ifu, valid when IFF_BROADCAST is set.
            if interface.ifa_flags & UInt32(IFF_BROADCAST) != 0, let given = interface.ifa_ifu.ifu_broadaddr.flatMap(decode) {
                found.append(given)
            }
            if let mask = interface.ifa_netmask, mask.pointee.sa_family == sa_family_t(AF_INET) {
                let host = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                let bits = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                if bits.nonzeroBitCount <= 30, let implied = try? SocketAddress(host: ipv4Text(host | ~bits), port: 0) {
                    found.append(implied)
                }
            }
            return found
        }
    }

    /// Dotted-quad text of an IPv4 address in host byte order.
    private static func ipv4Text(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    /// One `getifaddrs` walk: the addresses `pick` finds in each interface entry, each once, in the kernel's order.
    private static func collect(_ pick: (ifaddrs) -> [SocketAddress]) throws(Errno) -> [SocketAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        _ = try syscall { getifaddrs(&list) }
        defer { freeifaddrs(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let interface = entry?.pointee {
            entry = interface.ifa_next
            for address in pick(interface) where !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }

    /// An IPv4 or IPv6 `sockaddr`; `nil` for the link-layer (`AF_PACKET`) entries every interface also has.
    private static func decode(_ address: UnsafeMutablePointer<sockaddr>) -> SocketAddress? {
        let family = CInt(address.pointee.sa_family)
        let length: Int
        switch family {
        case AF_INET: length = MemoryLayout<sockaddr_in>.size
        case AF_INET6: length = MemoryLayout<sockaddr_in6>.size
        default: return nil
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length)) }
        return try? SocketAddress(storage: storage, length: socklen_t(length))
    }
}
