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
        try collect { interface in interface.ifa_addr.flatMap(decode) }
    }

    /// The IPv4 broadcast addresses of this host's interfaces (`ip address`'s `brd`), each once, with port 0:
    /// a datagram sent to one reaches this host's own listeners too.
    ///
    /// - Throws: the `Errno` of `getifaddrs`.
    public static func broadcasts() throws(Errno) -> [SocketAddress] {
        try collect { interface in
            // glibc's ifa_broadaddr is the union member ifa_ifu, valid when IFF_BROADCAST is set.
            guard interface.ifa_flags & UInt32(IFF_BROADCAST) != 0,
                  interface.ifa_addr?.pointee.sa_family == sa_family_t(AF_INET) else { return nil }
            return interface.ifa_ifu.ifu_broadaddr.flatMap(decode)
        }
    }

    /// One `getifaddrs` walk: the address `pick` finds in each interface entry, each once, in the kernel's order.
    private static func collect(_ pick: (ifaddrs) -> SocketAddress?) throws(Errno) -> [SocketAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        _ = try syscall { getifaddrs(&list) }
        defer { freeifaddrs(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let interface = entry?.pointee {
            entry = interface.ifa_next
            guard let address = pick(interface), !addresses.contains(address) else { continue }
            addresses.append(address)
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
