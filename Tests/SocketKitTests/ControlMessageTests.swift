import CLinux
import Glibc
@testable import SocketKit
import SystemPackage
import Testing

/// `sendmsg`/`recvmsg` control messages on real sockets (issue 12): descriptors, credentials, packet information,
/// TTL and kernel timestamps, through the one send and the one receive every caller uses.
@Suite struct ControlMessageTests {
    /// `SO_COOKIE`: the kernel's id of a socket, the same through every descriptor of it.
    static func cookie(_ fd: CInt) throws -> UInt64 {
        var value: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        try #require(getsockopt(fd, SOL_SOCKET, CInt(SO_COOKIE), &value, &length) == 0)
        return value
    }

    /// How many of this process's descriptors (`/proc/self/fd`) are of the sockets with these cookies: robust
    /// while other tests open and close descriptors of their own in parallel.
    static func descriptors(of cookies: Set<UInt64>) -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = CInt(name) else { continue }
            var value: UInt64 = 0
            var length = socklen_t(MemoryLayout<UInt64>.size)
            if getsockopt(fd, SOL_SOCKET, CInt(SO_COOKIE), &value, &length) == 0, cookies.contains(value) { count += 1 }
        }
        return count
    }

    @Test("a socket passed over a socketpair arrives as a new descriptor of the same kernel socket, close-on-exec")
    func passedSocketIsTheSameKernelSocket() async throws {
        let (left, right) = try Socket.pair(type: .stream)
        defer { try? left.close(); try? right.close() }
        let passed = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? passed.close() }
        try passed.bind(to: .v4(host: .loopback, port: 0))
        let sent = try #require(try left.send([1][...], to: nil, flags: [], control: OutgoingControl(rights: [passed])))
        #expect(sent == 1)
        let message = try await right.receiveWaiting(maxBytes: 8, maxRights: 4)
        #expect(message.bytes == [1] && !message.control.truncated)
        let received = try #require(message.control.rights.first)
        defer { try? received.close() }
        #expect(message.control.rights.count == 1)
        #expect(try Self.cookie(received.rawValue) == passed.withUnsafeFileDescriptor { try! Self.cookie($0) })
        #expect(fcntl(received.rawValue, F_GETFD) & FD_CLOEXEC != 0, "received with MSG_CMSG_CLOEXEC")
    }

    @Test("more descriptors than the receive takes: it says truncated, and none of the extra ones stays open")
    func extraRightsAreClosed() async throws {
        let (left, right) = try Socket.pair(type: .dgram)
        defer { try? left.close(); try? right.close() }
        let passed = try (0..<5).map { _ in try Socket(family: .inet, type: .dgram, protocol: .udp) }
        defer { passed.forEach { try? $0.close() } }
        let cookies = Set(try passed.map { socket in try socket.withUnsafeFileDescriptor { fd in try! Self.cookie(fd) } })
        for maxRights in [0, 2] {
            #expect(Self.descriptors(of: cookies) == 5)
            _ = try left.send([7][...], to: nil, flags: [], control: OutgoingControl(rights: passed))
            let message = try await right.receiveWaiting(maxBytes: 8, maxRights: maxRights)
            #expect(message.control.truncated, "maxRights \(maxRights)")
            #expect(message.control.rights.count == maxRights)
            message.control.rights.forEach { try? $0.close() }
            #expect(Self.descriptors(of: cookies) == 5, "no descriptor of the passed sockets left open (maxRights \(maxRights))")
        }
    }

    @Test("more than 253 descriptors in one send is EINVAL, and nothing is sent")
    func tooManyRightsAreRefused() throws {
        let (left, right) = try Socket.pair(type: .dgram)
        defer { try? left.close(); try? right.close() }
        let passed = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? passed.close() }
        let rights = [Socket](repeating: passed, count: OutgoingControl.maximumRights + 1)
        #expect(throws: Errno.invalidArgument) { _ = try left.send([1][...], to: nil, flags: [], control: OutgoingControl(rights: rights)) }
        #expect(try right.receive(maxBytes: 8, flags: []) == nil)
    }

    @Test("with SO_PASSCRED each message carries the sender's credentials; a sender may attach its own")
    func credentialsArriveWithEachMessage() async throws {
        let (left, right) = try Socket.pair(type: .dgram)
        defer { try? left.close(); try? right.close() }
        try right.setIntOption(level: SOL_SOCKET, name: CInt(SO_PASSCRED), 1)
        _ = try left.send([1][...], to: nil, flags: [])
        _ = try left.send([2][...], to: nil, flags: [], control: OutgoingControl(credentials: .current))
        for expected in [UInt8(1), 2] {
            let message = try await right.receiveWaiting(maxBytes: 8)
            #expect(message.bytes == [expected])
            #expect(message.control.credentials == Credentials.current)
        }
    }

    @Test("a UDP receive reports the destination address, interface, TTL and the kernel's receive time",
          arguments: [AddressFamily.inet, .inet6])
    func datagramMetadata(family: AddressFamily) async throws {
        let receiver = try Socket(family: family, type: .dgram, protocol: .udp)
        defer { try? receiver.close() }
        let loopback: SocketAddress = family == .inet ? .v4(host: .loopback, port: 0) : .v6(host: .loopback, port: 0, scopeID: 0)
        try receiver.bind(to: loopback)
        if family == .inet {
            try receiver.setIntOption(level: CInt(IPPROTO_IP), name: CInt(IP_PKTINFO), 1)
            try receiver.setIntOption(level: CInt(IPPROTO_IP), name: CInt(IP_RECVTTL), 1)
        } else {
            try receiver.setIntOption(level: CInt(IPPROTO_IPV6), name: CInt(IPV6_RECVPKTINFO), 1)
            try receiver.setIntOption(level: CInt(IPPROTO_IPV6), name: CInt(IPV6_RECVHOPLIMIT), 1)
        }
        try receiver.enableReceiveTimestamps()
        let sender = try Socket(family: family, type: .dgram, protocol: .udp)
        defer { try? sender.close() }
        let before = realtimeNow()
        _ = try sender.send([42][...], to: try receiver.localAddress(), flags: [])
        let message = try await receiver.receiveWaiting(maxBytes: 8)
        let after = realtimeNow()
        let info = try #require(message.control.packetInfo)
        #expect(info.destination == (family == .inet ? .v4(host: .loopback, port: 0) : .v6(host: .loopback, port: 0, scopeID: 0)))
        #expect(info.interfaceIndex == Int(if_nametoindex("lo")))
        #expect(message.control.hopLimit == 64, "the loopback default TTL / hop limit")
        let time = try #require(message.control.kernelTime)
        let micros = { (t: timespec) in Int64(t.tv_sec) * 1_000_000 + Int64(t.tv_nsec) / 1_000 }
        #expect(time.unixMicroseconds >= micros(before) - 1 && time.unixMicroseconds <= micros(after) + 1)
    }
}

extension Socket {
    /// One message with up to `maxRights` descriptors, waiting for it to arrive.
    func receiveWaiting(maxBytes: Int, maxRights: Int) async throws -> ReceivedMessage {
        while true {
            if let message = try receive(maxBytes: maxBytes, flags: [], maxRights: maxRights) { return message }
            try await waitReady(.readable)
        }
    }
}

/// Taking over what another process passed (issue 12): sockets are adopted with what the kernel says they are,
/// anything else is closed and named; every socket has its kernel id, and a connected Unix one its peer.
@Suite struct AdoptionTests {
    @Test("a passed socket is adopted with the family, type and protocol the kernel reports, non-blocking, same cookie",
          arguments: [(AddressFamily.inet, SocketType.stream, SocketProtocol.tcp), (.inet6, .dgram, .udp), (.unix, .seqpacket, .default)])
    func passedSocketIsAdopted(family: AddressFamily, type: SocketType, proto: SocketProtocol) async throws {
        let (left, right) = try Socket.pair(type: .dgram)
        defer { try? left.close(); try? right.close() }
        let passed = try Socket(family: family, type: type, protocol: proto)
        defer { try? passed.close() }
        _ = try left.send([0][...], to: nil, flags: [], control: OutgoingControl(rights: [passed]))
        let message = try await right.receiveWaiting(maxBytes: 1, maxRights: 1)
        guard case .socket(let adopted) = try Socket.adopt(received: try #require(message.control.rights.first)) else {
            Issue.record("not adopted as a socket")
            return
        }
        defer { try? adopted.close() }
        #expect(adopted.family == family && adopted.type == type)
        #expect(adopted.protocol.rawValue == proto.rawValue, "SO_PROTOCOL: 6 for TCP, 17 for UDP, 0 for Unix")
        #expect(try adopted.cookie() == passed.cookie())
        let flags = try adopted.withUnsafeFileDescriptor { fcntl($0, F_GETFL) }
        #expect(flags & O_NONBLOCK != 0)
    }

    @Test("a descriptor that is not a socket is closed and named: pipe, file, eventfd")
    func nonSocketsAreClosedAndNamed() throws {
        var ends: [CInt] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { _ = Glibc.close(ends[1]) }
        let file = open("/proc/self/status", O_RDONLY)
        let event = eventfd(0, 0)
        for (fd, expected) in [(ends[0], "pipe"), (file, "file"), (event, "eventfd")] {
            guard case .notSocket(let kind) = try Socket.adopt(received: FileDescriptor(rawValue: fd)) else {
                Issue.record("\(expected) adopted as a socket")
                continue
            }
            #expect(kind == expected)
            #expect(fcntl(fd, F_GETFD) == -1 && errno == EBADF, "\(expected) was closed")
        }
    }

    @Test("the peer of a connected Unix socket is this process; unconnected or inet sockets have none")
    func peerCredentials() throws {
        let (left, right) = try Socket.pair(type: .stream)
        defer { try? left.close(); try? right.close() }
        #expect(try left.peerCredentials() == Credentials.current)
        let lone = try Socket(family: .unix, type: .stream)
        defer { try? lone.close() }
        #expect(try lone.peerCredentials() == nil)
        let inet = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? inet.close() }
        #expect(try inet.peerCredentials() == nil)
        #expect(try left.cookie() != right.cookie())
    }
}

extension AdoptionTests {
    @Test("the peer of a connected Unix socket is found by its cookie through unix_diag, for a pair and an accepted connection")
    func unixPeerCookie() async throws {
        let (left, right) = try Socket.pair(type: .stream)
        defer { try? left.close(); try? right.close() }
        #expect(try await left.unixPeerCookie() == right.cookie())
        #expect(try await right.unixPeerCookie() == left.cookie())
        let lone = try Socket(family: .unix, type: .dgram)
        defer { try? lone.close() }
        #expect(try await lone.unixPeerCookie() == nil, "an unconnected socket has no peer")
        // A listener's accepted connection: its peer is the connecting socket, not the listener.
        let listener = try Socket(family: .unix, type: .stream)
        defer { try? listener.close() }
        try listener.bind(to: .abstract(name: "sockpit-peer-cookie-\(getpid())"))
        try listener.listen(backlog: 1)
        let client = try Socket(family: .unix, type: .stream)
        defer { try? client.close() }
        _ = try client.connect(to: .abstract(name: "sockpit-peer-cookie-\(getpid())"))
        _ = try await listener.wait(for: .readable, until: .now + .seconds(2))
        let accepted = try #require(try listener.accept()).socket
        defer { try? accepted.close() }
        #expect(try await accepted.unixPeerCookie() == client.cookie())
        #expect(try await client.unixPeerCookie() == accepted.cookie())
    }
}
