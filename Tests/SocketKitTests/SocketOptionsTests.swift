import Glibc
@testable import SocketKit
import SystemPackage
import Testing

@Suite("Socket options and TCP_INFO on real sockets")
struct SocketOptionsTests {
    @Test("Boolean options read back what was set", arguments: [SocketOption.so_reuseaddr, .so_keepalive])
    func booleanRoundTrip(option: SocketOption) throws {
        let socket = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? socket.close() }
        try socket.setOption(option, .bool(true))
        #expect(try socket.option(option) == .bool(true))
        try socket.setOption(option, .bool(false))
        #expect(try socket.option(option) == .bool(false))
    }

    @Test("tcp_nodelay is set and read on a TCP socket")
    func tcpNoDelay() throws {
        let socket = try Socket(family: .inet6, type: .stream, protocol: .tcp)
        defer { try? socket.close() }
        #expect(try socket.option(.tcp_nodelay) == .bool(false))
        try socket.setOption(.tcp_nodelay, .bool(true))
        #expect(try socket.option(.tcp_nodelay) == .bool(true))
    }

    @Test("so_rcvbuf reads back at least what was set (the kernel doubles it)")
    func receiveBuffer() throws {
        let socket = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? socket.close() }
        try socket.setOption(.so_rcvbuf, .int(65_536))
        guard case .int(let size) = try socket.option(.so_rcvbuf) else { Issue.record("not an int"); return }
        #expect(size >= 65_536)
    }

    @Test("so_linger keeps both its switch and its seconds")
    func linger() throws {
        let socket = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? socket.close() }
        #expect(try socket.option(.so_linger) == .linger(enabled: false, seconds: 0))
        try socket.setOption(.so_linger, .linger(enabled: true, seconds: 5))
        #expect(try socket.option(.so_linger) == .linger(enabled: true, seconds: 5))
    }

    @Test("ip_ttl on IPv4 and ipv6_v6only on IPv6")
    func ipLevelOptions() throws {
        let v4 = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? v4.close() }
        try v4.setOption(.ip_ttl, .int(42))
        #expect(try v4.option(.ip_ttl) == .int(42))
        let v6 = try Socket(family: .inet6, type: .stream, protocol: .tcp)
        defer { try? v6.close() }
        try v6.setOption(.ipv6_v6only, .bool(true))
        #expect(try v6.option(.ipv6_v6only) == .bool(true))
    }

    @Test("so_type names the type; so_acceptconn turns true on listen; so_error is empty")
    func readOnlyOptions() throws {
        let socket = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? socket.close() }
        #expect(try socket.option(.so_type) == .socketType("stream"))
        let unixDgram = try Socket(family: .unix, type: .dgram)
        defer { try? unixDgram.close() }
        #expect(try unixDgram.option(.so_type) == .socketType("dgram"))
        #expect(try socket.option(.so_acceptconn) == .bool(false))
        try socket.bind(to: try SocketAddress(host: "127.0.0.1", port: 0))
        try socket.listen(backlog: 1)
        #expect(try socket.option(.so_acceptconn) == .bool(true))
        #expect(try socket.option(.so_error) == .errno(nil))
    }

    @Test("A value of the wrong kind is EINVAL; setting a read-only option is ENOPROTOOPT")
    func rejectedValues() throws {
        let socket = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? socket.close() }
        #expect(throws: Errno.invalidArgument) { try socket.setOption(.tcp_nodelay, .int(1)) }
        #expect(throws: Errno.invalidArgument) { try socket.setOption(.so_rcvbuf, .int(Int(Int32.max) + 1)) }
        #expect(throws: Errno.protocolNotAvailable) { try socket.setOption(.so_type, .socketType("dgram")) }
    }

    @Test("tcp_nodelay on a Unix socket is refused by the kernel")
    func tcpOptionOnUnixSocketThrows() throws {
        let (socket, peer) = try Socket.pair(type: .stream)
        defer { try? socket.close(); try? peer.close() }
        #expect(throws: Errno.self) { try socket.setOption(.tcp_nodelay, .bool(true)) }
    }

    @Test("tcpInfo says established on a connected socket and listen on a listener")
    func tcpInfoStates() async throws {
        let (listener, client, server) = try await loopbackTCP(.inet)
        defer { try? listener.close(); try? client.close(); try? server.close() }
        try client.sendText("x")
        _ = try await server.receiveWaiting(maxBytes: 1)
        let info = try client.tcpInfo()
        #expect(info.state == "established")
        #expect(info.sendCongestionWindow > 0 && info.totalRetransmits == 0)
        #expect(try listener.tcpInfo().state == "listen")
        let (unix, unixPeer) = try Socket.pair(type: .stream)
        defer { try? unix.close(); try? unixPeer.close() }
        #expect(throws: Errno.self) { try unix.tcpInfo() }
    }

    @Test("Options apply only to the kinds of socket they affect")
    func applicability() {
        func kinds(_ option: SocketOption) -> [String] {
            [("tcp", AddressFamily.inet, SocketType.stream, SocketProtocol.tcp), ("udp6", .inet6, .dgram, .udp),
             ("udp", .inet, .dgram, .default), ("unix", .unix, .stream, .default)]
                .filter { option.applies(family: $0.1, type: $0.2, protocol: $0.3) }.map(\.0)
        }
        #expect(kinds(.tcp_nodelay) == ["tcp"])
        #expect(kinds(.ip_ttl) == ["tcp", "udp"])
        #expect(kinds(.ipv6_v6only) == ["udp6"])
        #expect(kinds(.so_broadcast) == ["udp"])
        #expect(kinds(.so_rcvbuf) == ["tcp", "udp6", "udp", "unix"])
        #expect(SocketOption.allCases.filter { !$0.isSettable } == [.so_error, .so_type, .so_acceptconn])
        #expect(SocketOption.so_linger.kind == .linger && SocketOption.ip_tos.kind == .int)
    }
}
