import Glibc

/// A socket of the host as the kernel's socket diagnostics report it (`NETLINK_SOCK_DIAG`, sock_diag(7)): what
/// `ss` shows, for TCP, UDP and raw IP sockets (IPv4 and IPv6) and Unix sockets.
public struct HostSocket: Sendable {
    /// inet, inet6 or unix.
    public var family: AddressFamily
    /// tcp, udp, raw; for Unix sockets their type: stream, dgram, seqpacket.
    public var kind: String
    /// The kernel's state name: established, listen, time_wait, close (an unconnected datagram socket), ...
    public var state: String
    public var local: SocketAddress?
    public var peer: SocketAddress?
    /// Bytes waiting to be read and to be sent (for a listener: connections waiting, and the backlog).
    public var receiveQueue: UInt32
    public var sendQueue: UInt32
    public var uid: UInt32?
    public var inode: UInt32
    /// `SO_COOKIE`.
    public var cookie: UInt64
    /// `ss -i`: TCP's own figures, and its congestion control algorithm.
    public var tcpInfo: TCPInfo?
    public var congestion: String?
    /// `ss -m` (`SK_MEMINFO_*`): rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops.
    public var memory: [String: UInt32]?
    /// A Unix socket's peer, by inode.
    public var peerInode: UInt32?
}

/// The host's socket table over `NETLINK_SOCK_DIAG`.
public enum SocketDiag {
    /// Every TCP, UDP and raw socket (IPv4 and IPv6) and every Unix socket in `namespace` (nil: this process's).
    /// Raw sockets are listed where the kernel has raw_diag; a protocol it cannot dump is left out.
    public static func sockets(in namespace: NetworkNamespace? = nil) async throws -> [HostSocket] {
        let channel = try NetlinkChannel(protocol: .netlinkSockDiag, in: namespace)
        var sockets: [HostSocket] = []
        for family in [AddressFamily.inet, .inet6] {
            for (proto, kind) in [(IPPROTO_TCP, "tcp"), (IPPROTO_UDP, "udp"), (IPPROTO_RAW, "raw")] {
                let answers: [NetlinkMessage]
                do {
                    answers = try await channel.dump(type: 20, payload: inetRequest(family: family, protocol: Int32(proto)))  // SOCK_DIAG_BY_FAMILY
                } catch let error as NetlinkError where kind == "raw" {
                    _ = error  // no raw_diag in this kernel
                    continue
                }
                sockets += answers.filter { $0.type == 20 }.compactMap { inetSocket($0, kind: kind) }
            }
        }
        let unix = try await channel.dump(type: 20, payload: unixRequest())
        sockets += unix.filter { $0.type == 20 }.compactMap(unixSocket)
        return sockets
    }

    /// `struct inet_diag_req_v2` for every state, with the info, congestion and memory extensions.
    private static func inetRequest(family: AddressFamily, protocol proto: Int32) -> [UInt8] {
        // INET_DIAG_INFO (2), INET_DIAG_CONG (4), INET_DIAG_SKMEMINFO (7): bit (ext - 1) of idiag_ext.
        let extensions: UInt8 = 1 << 1 | 1 << 3 | 1 << 6
        return [UInt8(family.rawValue), UInt8(proto), extensions, 0, 0xff, 0xff, 0xff, 0xff] + [UInt8](repeating: 0, count: 48)
    }

    /// `struct unix_diag_req` for every state (or the socket with `inode`), with name, peer, queue lengths, uid and
    /// memory.
    static func unixRequest(inode: UInt32 = 0) -> [UInt8] {
        // UDIAG_SHOW_NAME 0x1, PEER 0x4, RQLEN 0x10, MEMINFO 0x8, UID 0x40.
        let show: UInt32 = 0x1 | 0x4 | 0x8 | 0x10 | 0x40
        var bytes: [UInt8] = [UInt8(AF_UNIX), 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        withUnsafeBytes(of: inode.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: show.littleEndian) { bytes += $0 }
        return bytes + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]  // any cookie
    }

    private static func inetSocket(_ message: NetlinkMessage, kind: String) -> HostSocket? {
        let p = message.payload
        guard p.count >= 72 else { return nil }
        let family = AddressFamily(rawValue: CInt(p[0]))
        func word32(_ offset: Int) -> UInt32 { p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) } }
        func port(_ offset: Int) -> UInt16 { UInt16(p[offset]) << 8 | UInt16(p[offset + 1]) }
        func address(_ offset: Int, _ port: UInt16) -> SocketAddress? {
            if family == .inet {
                return .v4(host: IPv4Address(in_addr(s_addr: word32(offset))), port: port)
            }
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: p[offset..<(offset + 16)]) }
            return .v6(host: IPv6Address(raw), port: port, scopeID: 0)
        }
        // struct inet_diag_msg: family, state, timer, retrans; inet_diag_sockid (sport 4, dport 6, src 8, dst 24, if 40,
        // cookie 44 and 48); expires 52, rqueue 56, wqueue 60, uid 64, inode 68; attributes from 72.
        let attributes = NetlinkAttributes(p, from: 72)
        var socket = HostSocket(
            family: family, kind: kind, state: TCPInfo.stateName(p[1]), local: address(8, port(4)), peer: address(24, port(6)),
            receiveQueue: word32(56), sendQueue: word32(60), uid: word32(64), inode: word32(68),
            cookie: UInt64(word32(48)) << 32 | UInt64(word32(44)))
        if kind == "tcp", let info = attributes[2] { socket.tcpInfo = TCPInfo(bytes: Array(info)) }
        socket.congestion = attributes.string(4)
        socket.memory = attributes[7].map(memory)
        return socket
    }

    static func unixSocket(_ message: NetlinkMessage) -> HostSocket? {
        let p = message.payload
        guard p.count >= 16 else { return nil }
        let type = SocketType(rawValue: CInt(p[1]))
        let inode = p.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }
        let cookie = p.withUnsafeBytes { UInt64($0.loadUnaligned(fromByteOffset: 12, as: UInt32.self)) << 32
            | UInt64($0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
        let attributes = NetlinkAttributes(p, from: 16)
        var local: SocketAddress?
        if let name = attributes[0] {  // UNIX_DIAG_NAME: sun_path's bytes, a leading NUL for an abstract name
            local = name.first == 0 ? .abstract(name: String(decoding: name.dropFirst(), as: UTF8.self))
                : .unix(path: String(decoding: name.prefix { $0 != 0 }, as: UTF8.self))
        }
        let queues = attributes[4].map { Array($0) } ?? []
        let states = [1: "established", 7: "close", 10: "listen"]
        var socket = HostSocket(
            family: .unix, kind: type.name, state: states[Int(p[2])] ?? TCPInfo.stateName(p[2]), local: local, peer: nil,
            receiveQueue: queues.count >= 4 ? queues.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0,
            sendQueue: queues.count >= 8 ? queues.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) } : 0,
            uid: attributes.unsigned(7).map { UInt32($0) }, inode: inode, cookie: cookie)
        socket.peerInode = attributes.unsigned(2).map { UInt32($0) }.flatMap { $0 == 0 ? nil : $0 }
        socket.memory = attributes[6].map(memory)
        return socket
    }

    private static func memory(_ value: ArraySlice<UInt8>) -> [String: UInt32] {
        let names = ["rmem_alloc", "rcvbuf", "wmem_alloc", "sndbuf", "fwd_alloc", "wmem_queued", "optmem", "backlog", "drops"]
        let bytes = Array(value)
        var memory: [String: UInt32] = [:]
        for (index, name) in names.enumerated() where (index + 1) * 4 <= bytes.count {
            memory[name] = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self) }
        }
        return memory
    }

    /// The processes that hold each socket inode: pid and command, from `/proc/PID/fd` (as `ss -p` finds them). A
    /// process whose descriptors this one may not read is left out, not guessed.
    public static func owners() -> [UInt32: [(pid: Int32, command: String)]] {
        var owners: [UInt32: [(pid: Int32, command: String)]] = [:]
        guard let proc = opendir("/proc") else { return owners }
        defer { closedir(proc) }
        // Each descriptor is read relative to its directory into one buffer, and only `socket:[N]` is decoded:
        // no path, string or array is made per descriptor (a host with tens of thousands of them is the case).
        var target = [UInt8](repeating: 0, count: 64)
        while let entry = readdir(proc) {
            guard let pid = decimal(entry), let fds = opendir("/proc/\(pid)/fd") else { continue }
            let directory = dirfd(fds)
            var command: String?
            while let fd = readdir(fds) {
                let count = withUnsafeBytes(of: fd.pointee.d_name) { name in
                    target.withUnsafeMutableBytes { buffer in
                        readlinkat(directory, name.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
                    }
                }
                guard count > 9, let inode = socketInode(target[..<count]) else { continue }
                if command == nil { command = Self.command(of: Int32(pid)) }
                owners[inode, default: []].append((Int32(pid), command ?? ""))
            }
            closedir(fds)
        }
        return owners
    }

    /// A directory entry's name as a decimal number (a pid), or nil.
    private static func decimal(_ entry: UnsafeMutablePointer<dirent>) -> Int? {
        withUnsafeBytes(of: entry.pointee.d_name) { name in
            var value = 0
            for byte in name.prefix(while: { $0 != 0 }) {
                guard (48...57).contains(byte), value < Int(Int32.max) / 10 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return name.first == 0 ? nil : value
        }
    }

    private static let socketPrefix: [UInt8] = Array("socket:[".utf8)

    /// The inode of a descriptor's link text `socket:[12345]`, or nil for anything else.
    static func socketInode(_ text: ArraySlice<UInt8>) -> UInt32? {
        let prefix = socketPrefix
        guard text.count > prefix.count + 1, text.starts(with: prefix), text.last == UInt8(ascii: "]") else { return nil }
        var value: UInt64 = 0
        for byte in text.dropFirst(prefix.count).dropLast() {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + UInt64(byte - 48)
            guard value <= UInt64(UInt32.max) else { return nil }
        }
        return UInt32(value)
    }

    private static func command(of pid: Int32) -> String {
        guard let file = fopen("/proc/\(pid)/comm", "r") else { return "" }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension TCPInfo {
    /// Reads the kernel's `struct tcp_info` from bytes (an `INET_DIAG_INFO` attribute, possibly shorter than this
    /// build's struct: the rest reads as zeros).
    init(bytes: [UInt8]) {
        var info = tcp_info()
        withUnsafeMutableBytes(of: &info) { raw in raw.copyBytes(from: bytes.prefix(raw.count)) }
        self.init(info)
    }
}
