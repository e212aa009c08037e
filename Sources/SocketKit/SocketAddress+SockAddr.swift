import Glibc

/// A ``SocketAddress`` in the kernel's form: a `sockaddr_storage` and the length that counts.
///
/// Encoding is the only step that can fail (a Unix path too long for `sun_path`), so it happens once,
/// here, with its own error; handing the pointer to a syscall then throws only what that syscall throws:
/// `try SockAddrStorage(address).withSockAddr { p, n throws(Errno) in try syscall { connect(fd, p, n) } }`.
struct SockAddrStorage {
    /// The bytes, large and aligned enough for every family.
    private(set) var storage = sockaddr_storage()

    /// How many bytes of `storage` the address occupies.
    private(set) var length: socklen_t

    /// An empty buffer of full capacity, for `accept`, `getsockname`, `recvfrom` to fill in.
    init() { length = socklen_t(MemoryLayout<sockaddr_storage>.size) }

    /// Encodes `address`.
    init(_ address: SocketAddress) throws(SocketAddressError) {
        switch address {
        case .v4(let host, let port):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = host.inAddr
            length = Self.store(sin, into: &storage)
        case .v6(let host, let port, let scopeID):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = host.in6Addr
            sin6.sin6_scope_id = scopeID
            length = Self.store(sin6, into: &storage)
        case .unix(let path):
            // Pathnames keep their terminating NUL in the length, as the kernel's own answers do.
            length = try Self.storeUnix(prefix: [], Array(path.utf8), suffix: path.isEmpty ? [] : [0], into: &storage)
        case .abstract(let name):
            // The leading NUL marks the abstract namespace; every following byte is the name, so no trailing NUL.
            length = try Self.storeUnix(prefix: [0], Array(name.utf8), suffix: [], into: &storage)
        case .netlink(let pid, let groups):
            // `sockaddr_nl` is not in the Glibc module: family, 2 bytes of padding, port ID, groups.
            withUnsafeMutableBytes(of: &storage) { bytes in
                bytes.storeBytes(of: sa_family_t(AF_NETLINK), toByteOffset: 0, as: sa_family_t.self)
                bytes.storeBytes(of: pid, toByteOffset: 4, as: UInt32.self)
                bytes.storeBytes(of: groups, toByteOffset: 8, as: UInt32.self)
            }
            length = socklen_t(Self.netlinkLength)
        case .link(let link):
            // `sockaddr_ll` (<netpacket/packet.h>, not in the Glibc module): family, protocol (network order),
            // interface index, hardware type, packet type, address length, 8 address bytes.
            guard link.address.count <= 8 else { throw .linkAddressTooLong(byteCount: link.address.count) }
            withUnsafeMutableBytes(of: &storage) { bytes in
                bytes.storeBytes(of: sa_family_t(AF_PACKET), toByteOffset: 0, as: sa_family_t.self)
                bytes.storeBytes(of: link.protocol.bigEndian, toByteOffset: 2, as: UInt16.self)
                bytes.storeBytes(of: Int32(bitPattern: link.interfaceIndex), toByteOffset: 4, as: Int32.self)
                bytes.storeBytes(of: link.hardwareType, toByteOffset: 8, as: UInt16.self)
                bytes.storeBytes(of: link.packetType, toByteOffset: 10, as: UInt8.self)
                bytes.storeBytes(of: UInt8(link.address.count), toByteOffset: 11, as: UInt8.self)
                for (offset, byte) in link.address.enumerated() { bytes[12 + offset] = byte }
            }
            length = socklen_t(Self.linkLength)
        }
    }

    /// Decodes what the kernel wrote.
    func address() throws(SocketAddressError) -> SocketAddress {
        try SocketAddress(storage: storage, length: length)
    }

    /// Lends the address to a syscall that reads it (`bind`, `connect`, `sendto`).
    func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        try withUnsafePointer(to: storage) { (pointer) throws(E) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(E) -> R in
                try body(address, length)
            }
        }
    }

    /// Lends the buffer to a syscall that fills it and updates the length (`accept`, `getsockname`).
    mutating func withMutableSockAddr<R, E: Error>(
        _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws(E) -> R
    ) throws(E) -> R {
        try withUnsafeMutablePointer(to: &storage) { (pointer) throws(E) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(E) -> R in
                try body(address, &length)
            }
        }
    }

    /// `sizeof(struct sockaddr_nl)`.
    static let netlinkLength = 12

    /// `sizeof(struct sockaddr_ll)`.
    static let linkLength = 20

    private static func store<T>(_ value: T, into storage: inout sockaddr_storage) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: value, as: T.self) }
        return socklen_t(MemoryLayout<T>.size)
    }

    private static func storeUnix(
        prefix: [UInt8], _ bytes: [UInt8], suffix: [UInt8], into storage: inout sockaddr_storage
    ) throws(SocketAddressError) -> socklen_t {
        let pathBytes = prefix + bytes + suffix
        guard pathBytes.count <= MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw .unixPathTooLong(byteCount: bytes.count)
        }
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_UNIX), toByteOffset: 0, as: sa_family_t.self)
            raw[unixPathOffset..<(unixPathOffset + pathBytes.count)].copyBytes(from: pathBytes)
        }
        return socklen_t(unixPathOffset + pathBytes.count)
    }
}

/// Where `sun_path` starts in `sockaddr_un`: right after `sun_family`.
let unixPathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!

extension SocketAddress {
    /// Decodes the first `length` bytes of a `sockaddr_storage` filled in by the kernel.
    init(storage: sockaddr_storage, length: socklen_t) throws(SocketAddressError) {
        let length = Int(length)
        let family = AddressFamily(rawValue: CInt(storage.ss_family))
        guard length >= MemoryLayout<sa_family_t>.size else { throw .truncated(family: family, length: length) }
        func need(_ size: Int) throws(SocketAddressError) {
            guard length >= size else { throw .truncated(family: family, length: length) }
        }
        self = try withUnsafeBytes(of: storage) { (bytes) throws(SocketAddressError) -> SocketAddress in
            switch family {
            case .inet:
                try need(MemoryLayout<sockaddr_in>.size)
                let sin = bytes.loadUnaligned(as: sockaddr_in.self)
                return .v4(host: IPv4Address(sin.sin_addr), port: UInt16(bigEndian: sin.sin_port))
            case .inet6:
                try need(MemoryLayout<sockaddr_in6>.size)
                let sin6 = bytes.loadUnaligned(as: sockaddr_in6.self)
                return .v6(host: IPv6Address(sin6.sin6_addr), port: UInt16(bigEndian: sin6.sin6_port),
                           scopeID: sin6.sin6_scope_id)
            case .unix:
                let path = bytes[unixPathOffset..<min(length, MemoryLayout<sockaddr_un>.size)]
                if path.first == 0 {
                    return .abstract(name: String(decoding: path.dropFirst(), as: UTF8.self))
                }
                return .unix(path: String(decoding: path.prefix(while: { $0 != 0 }), as: UTF8.self))
            case .netlink:
                try need(SockAddrStorage.netlinkLength)
                return .netlink(pid: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                                groups: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            case .packet:
                try need(12)
                let count = min(Int(bytes[11]), 8, max(0, length - 12))
                return .link(LinkAddress(
                    interfaceIndex: UInt32(bitPattern: bytes.loadUnaligned(fromByteOffset: 4, as: Int32.self)),
                    protocol: UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)),
                    hardwareType: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self), packetType: bytes[10],
                    address: Array(bytes[12..<(12 + count)])))
            default:
                throw .unsupportedFamily(family)
            }
        }
    }

    /// Lends this address, in the kernel's form, to `body`.
    ///
    /// - Throws: ``SocketAddressError/unixPathTooLong(byteCount:)`` before calling `body` when the
    ///   address does not fit `sockaddr_un`, then whatever `body` throws.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) throws -> R {
        try SockAddrStorage(self).withSockAddr(body)
    }
}
