import CLinux
import Glibc
public import SystemPackage

/// A process's identity as the kernel vouches for it (`struct ucred`): what `SCM_CREDENTIALS` and
/// `SO_PEERCRED` carry (unix(7)).
public struct Credentials: Hashable, Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    /// Wraps the three numbers.
    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// This process's own: what an unprivileged sender may attach.
    public static var current: Credentials { Credentials(pid: getpid(), uid: getuid(), gid: getgid()) }
}

/// When the kernel received a message (`SCM_TIMESTAMPNS`), on the `CLOCK_REALTIME` clock.
public struct KernelTime: Hashable, Sendable {
    public var seconds: Int64
    public var nanoseconds: Int64

    /// The C form.
    init(_ time: timespec) {
        seconds = Int64(time.tv_sec)
        nanoseconds = Int64(time.tv_nsec)
    }

    /// Unix time in microseconds.
    public var unixMicroseconds: Int64 { seconds * 1_000_000 + nanoseconds / 1_000 }
}

/// Where a datagram was addressed and the interface it came in on (`IP_PKTINFO` / `IPV6_PKTINFO`).
public struct PacketInfo: Hashable, Sendable {
    /// The destination address of the datagram (port 0): tells a broadcast or multicast from a unicast.
    public var destination: SocketAddress
    /// The index of the interface it arrived on (`if_nametoindex`).
    public var interfaceIndex: Int
}

/// An error from the error queue (`IP_RECVERR` / `IPV6_RECVERR`): `struct sock_extended_err` and its offender.
public struct ExtendedError: Hashable, Sendable {
    /// The errno the kernel made of it (`ECONNREFUSED` for a port unreachable).
    public var errno: Errno
    /// Whether it came from an ICMP / ICMPv6 message (`SO_EE_ORIGIN_ICMP`, `SO_EE_ORIGIN_ICMP6`) rather than locally.
    public var fromICMP: Bool
    /// The ICMP type when ``fromICMP``.
    public var type: Int
    /// The ICMP code when ``fromICMP``.
    public var code: Int
    /// Who sent the ICMP message (`SO_EE_OFFENDER`).
    public var offender: SocketAddress?
}

/// What the control messages of one received message said (cmsg(3)).
public struct ReceivedControl: Hashable, Sendable {
    /// Descriptors passed with the message (`SCM_RIGHTS`), installed close-on-exec (`MSG_CMSG_CLOEXEC`). The
    /// caller owns them and must close each it does not keep.
    public var rights: [FileDescriptor] = []
    /// The sender's credentials (`SCM_CREDENTIALS`, with `SO_PASSCRED` on).
    public var credentials: Credentials?
    /// Destination and interface (`IP_PKTINFO` / `IPV6_RECVPKTINFO` on).
    public var packetInfo: PacketInfo?
    /// TTL / hop limit of the packet (`IP_RECVTTL` / `IPV6_RECVHOPLIMIT` on).
    public var hopLimit: Int?
    /// The kernel's receive time (`SO_TIMESTAMPNS` on).
    public var kernelTime: KernelTime?
    /// From the error queue: the error a packet of ours caused.
    public var extendedError: ExtendedError?
    /// Whether control data did not fit (`MSG_CTRUNC`): descriptors past the room asked for were not received
    /// (the kernel closed them), and other messages may be missing.
    public var truncated = false

    /// Nothing received.
    public init() {}
}

/// Control messages sent beside data (`sendmsg(2)`).
public struct OutgoingControl: Sendable {
    /// Sockets whose descriptors to pass (`SCM_RIGHTS`); at most ``maximumRights``. Only on Unix sockets.
    /// Each is borrowed for the send: a socket closed meanwhile fails it with `EBADF`.
    public var rights: [Socket]
    /// Credentials to attach (`SCM_CREDENTIALS`): an unprivileged process may send only its own.
    public var credentials: Credentials?

    /// The most descriptors one message may carry (`SCM_MAX_FD`).
    public static let maximumRights = 253

    /// Control messages to send; none by default.
    public init(rights: [Socket] = [], credentials: Credentials? = nil) {
        self.rights = rights
        self.credentials = credentials
    }

    /// No control messages.
    public static let none = OutgoingControl()

    /// Whether nothing is to be sent.
    var isEmpty: Bool { rights.isEmpty && credentials == nil }

    /// The messages laid out as the kernel reads them, in a buffer aligned for `cmsghdr`, or nil when there are
    /// none. `EINVAL` for more than ``maximumRights`` descriptors.
    func withEncoded<R>(_ body: (UnsafeMutableRawBufferPointer?) throws(Errno) -> R) throws(Errno) -> R {
        guard !isEmpty else { return try body(nil) }
        guard rights.count <= Self.maximumRights else { throw .invalidArgument }
        var borrowed: [Socket] = []
        defer { for socket in borrowed { socket.returnBorrowed() } }
        var descriptors: [CInt] = []
        for socket in rights {
            descriptors.append(try socket.borrow())
            borrowed.append(socket)
        }
        let rightsBytes = rights.count * MemoryLayout<CInt>.size
        let size = (rights.isEmpty ? 0 : sockpit_cmsg_space(rightsBytes))
            + (credentials == nil ? 0 : sockpit_cmsg_space(MemoryLayout<sockpit_ucred>.size))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        var message = msghdr()
        message.msg_control = buffer.baseAddress
        message.msg_controllen = size
        var header = sockpit_cmsg_firsthdr(&message)
        if !rights.isEmpty, let current = header {
            current.pointee.cmsg_level = SOL_SOCKET
            current.pointee.cmsg_type = CInt(SCM_RIGHTS)
            current.pointee.cmsg_len = sockpit_cmsg_len(rightsBytes)
            let data = UnsafeMutableRawPointer(sockpit_cmsg_data(current)!)
            for (index, descriptor) in descriptors.enumerated() {
                data.storeBytes(of: descriptor, toByteOffset: index * MemoryLayout<CInt>.size, as: CInt.self)
            }
            header = sockpit_cmsg_nxthdr(&message, current)
        }
        if let credentials, let current = header {
            current.pointee.cmsg_level = SOL_SOCKET
            current.pointee.cmsg_type = CInt(SOCKPIT_SCM_CREDENTIALS)
            current.pointee.cmsg_len = sockpit_cmsg_len(MemoryLayout<sockpit_ucred>.size)
            let value = sockpit_ucred(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
            UnsafeMutableRawPointer(sockpit_cmsg_data(current)!).storeBytes(of: value, as: sockpit_ucred.self)
        }
        return try body(buffer)
    }
}

extension ReceivedControl {
    /// Room for the control messages of one receive that accepts up to `maxRights` descriptors: theirs, plus
    /// room for every other message this type reads.
    static func capacity(maxRights: Int) -> Int {
        (maxRights > 0 ? sockpit_cmsg_space(maxRights * MemoryLayout<CInt>.size) : 0) + 512
    }

    /// Reads the control messages of a `recvmsg(2)` that returned; unknown ones are skipped.
    init(parsing message: inout msghdr) {
        self.init()
        truncated = message.msg_flags & CInt(MSG_CTRUNC) != 0
        var header = sockpit_cmsg_firsthdr(&message)
        while let current = header {
            let data = UnsafeRawPointer(sockpit_cmsg_data(current)!)
            let length = Int(current.pointee.cmsg_len) - (data - UnsafeRawPointer(current))
            read(level: current.pointee.cmsg_level, type: current.pointee.cmsg_type, data: data, length: length)
            header = sockpit_cmsg_nxthdr(&message, current)
        }
    }

    private mutating func read(level: CInt, type: CInt, data: UnsafeRawPointer, length: Int) {
        switch (level, type) {
        case (SOL_SOCKET, CInt(SCM_RIGHTS)):
            for index in 0..<(max(0, length) / MemoryLayout<CInt>.size) {
                rights.append(FileDescriptor(rawValue: data.loadUnaligned(fromByteOffset: index * MemoryLayout<CInt>.size, as: CInt.self)))
            }
        case (SOL_SOCKET, CInt(SOCKPIT_SCM_CREDENTIALS)) where length >= MemoryLayout<sockpit_ucred>.size:
            let value = data.loadUnaligned(as: sockpit_ucred.self)
            credentials = Credentials(pid: value.pid, uid: value.uid, gid: value.gid)
        // SCM_TIMESTAMPNS is SO_TIMESTAMPNS, `_OLD` being the 64-bit `timespec` form on 64-bit Linux.
        case (SOL_SOCKET, CInt(SO_TIMESTAMPNS_OLD)) where length >= MemoryLayout<timespec>.size:
            kernelTime = KernelTime(data.loadUnaligned(as: timespec.self))
        case (CInt(IPPROTO_IP), CInt(IP_TTL)), (CInt(IPPROTO_IPV6), CInt(IPV6_HOPLIMIT)):
            if length >= MemoryLayout<CInt>.size { hopLimit = Int(data.loadUnaligned(as: CInt.self)) }
        case (CInt(IPPROTO_IP), CInt(IP_PKTINFO)) where length >= MemoryLayout<in_pktinfo>.size:
            let value = data.loadUnaligned(as: in_pktinfo.self)
            packetInfo = PacketInfo(destination: .v4(host: IPv4Address(value.ipi_addr), port: 0),
                                    interfaceIndex: Int(value.ipi_ifindex))
        case (CInt(IPPROTO_IPV6), CInt(IPV6_PKTINFO)) where length >= MemoryLayout<sockpit_in6_pktinfo>.size:
            let value = data.loadUnaligned(as: sockpit_in6_pktinfo.self)
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { target in withUnsafeBytes(of: value.addr) { target.copyMemory(from: $0) } }
            packetInfo = PacketInfo(destination: .v6(host: IPv6Address(address), port: 0, scopeID: 0),
                                    interfaceIndex: Int(value.ifindex))
        case (CInt(IPPROTO_IP), CInt(IP_RECVERR)), (CInt(IPPROTO_IPV6), CInt(IPV6_RECVERR)):
            extendedError = Self.extendedError(data, length: length)
        default:
            break
        }
    }

    /// Decodes a `sock_extended_err` and the offender address after it.
    private static func extendedError(_ data: UnsafeRawPointer, length: Int) -> ExtendedError? {
        let size = MemoryLayout<sock_extended_err>.size
        guard length >= size else { return nil }
        let raw = data.loadUnaligned(as: sock_extended_err.self)
        let origin = CInt(raw.ee_origin)
        var offender: SocketAddress?
        if length > size {
            var storage = sockaddr_storage()
            let available = min(length - size, MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: data + size, count: available)) }
            if storage.ss_family != sa_family_t(AF_UNSPEC) {
                offender = try? SocketAddress(storage: storage, length: socklen_t(available))
            }
        }
        return ExtendedError(
            errno: Errno(rawValue: CInt(bitPattern: raw.ee_errno)),
            fromICMP: origin == SO_EE_ORIGIN_ICMP || origin == SO_EE_ORIGIN_ICMP6,
            type: Int(raw.ee_type), code: Int(raw.ee_code), offender: offender
        )
    }
}
