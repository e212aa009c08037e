import Glibc
@testable import SocketKit
import SystemPackage
import Testing

/// Waiting helpers for the socket suites: readiness through `Reactor.shared`, never a sleep.
extension Socket {
    /// Waits until the socket is ready for `interest`, failing the test after 5 seconds.
    func waitReady(_ interest: Interest) async throws {
        try #require(try await wait(for: interest, until: .now + .seconds(5)) == .ready)
    }

    /// One message, waiting for it to arrive.
    func receiveWaiting(maxBytes: Int, flags: ReceiveFlags = []) async throws -> ReceivedMessage {
        while true {
            if let message = try receive(maxBytes: maxBytes, flags: flags) { return message }
            try await waitReady(.readable)
        }
    }

    /// One connection, waiting for it to arrive.
    func acceptWaiting() async throws -> (socket: Socket, peer: SocketAddress) {
        while true {
            if let connection = try accept() { return connection }
            try await waitReady(.readable)
        }
    }

    /// Connects, waiting for a connect in progress to finish, and throws its pending error.
    func connectWaiting(to address: SocketAddress) async throws {
        if try connect(to: address) { return }
        try await waitReady(.writable)
        if let error = try pendingError() { throw error }
    }

    /// Sends the whole of `text` (small: one call is enough on loopback), failing the test if it would block.
    func sendText(_ text: String, to address: SocketAddress? = nil, flags: SendFlags = []) throws {
        let bytes = Array(text.utf8)
        #expect(try send(bytes[...], to: address, flags: flags) == bytes.count)
    }
}

/// A TCP connection over loopback: the listener, the connecting end and the accepted end.
///
/// The caller closes all three; if setting up fails, the sockets opened so far are closed here.
func loopbackTCP(_ family: AddressFamily) async throws -> (listener: Socket, client: Socket, server: Socket) {
    let host = family == .inet ? "127.0.0.1" : "::1"
    let listener = try Socket(family: family, type: .stream, protocol: .tcp)
    var client: Socket?
    do {
        try listener.bind(to: try SocketAddress(host: host, port: 0))
        try listener.listen(backlog: 8)
        let connecting = try Socket(family: family, type: .stream, protocol: .tcp)
        client = connecting
        try await connecting.connectWaiting(to: try listener.localAddress())
        let (server, _) = try await listener.acceptWaiting()
        return (listener, connecting, server)
    } catch {
        try? client?.close()
        try? listener.close()
        throw error
    }
}

/// A fresh directory under /tmp for Unix socket files; the caller removes it with ``removeDirectory(_:)``.
func makeSocketDirectory() throws -> String {
    var template = Array("/tmp/sockpit-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
    return try #require(path)
}

/// Removes a directory made by ``makeSocketDirectory()`` and the sockets in it.
func removeDirectory(_ directory: String, files: [String]) {
    for file in files { unlink("\(directory)/\(file)") }
    rmdir(directory)
}

@Suite("Socket operations on real sockets")
struct SocketOperationsTests {
    private func text(_ message: ReceivedMessage) -> String { String(decoding: message.bytes, as: UTF8.self) }

    @Test("TCP: bind to port 0, listen, connect, accept, talk both ways, shut down writing", arguments: [
        AddressFamily.inet, .inet6,
    ])
    func tcpConversation(family: AddressFamily) async throws {
        let (listener, client, server) = try await loopbackTCP(family)
        defer { try? listener.close(); try? client.close(); try? server.close() }
        let bound = try listener.localAddress()
        #expect(bound.family == family && bound.port != 0, "the kernel chose a port")
        #expect(try client.peerAddress() == bound)
        #expect(try server.peerAddress() == client.localAddress(), "accept's peer is the client's address")
        #expect(try client.pendingError() == nil)

        try client.sendText("hello")
        #expect(text(try await server.receiveWaiting(maxBytes: 64)) == "hello")
        try server.sendText("world")
        let reply = try await client.receiveWaiting(maxBytes: 64)
        #expect(text(reply) == "world" && reply.from == nil && !reply.truncated && !reply.endOfFile)

        try client.shutdown(.write)
        let end = try await server.receiveWaiting(maxBytes: 64)
        #expect(end.endOfFile && end.bytes.isEmpty)
    }

    @Test("accept with no pending connection and receive with no data answer nil, not block")
    func nothingPendingIsNil() async throws {
        let (listener, client, server) = try await loopbackTCP(.inet)
        // Also keeps `client` open to the end, so `server` has no EOF to report.
        defer { try? listener.close(); try? client.close(); try? server.close() }
        #expect(try listener.accept() == nil)
        #expect(try server.receive(maxBytes: 16, flags: []) == nil)
    }

    @Test("connectToClosedPortReportsECONNREFUSED")
    func connectToClosedPortReportsECONNREFUSED() async throws {
        // A bound socket that does not listen holds a port nobody accepts on: the kernel answers RST.
        let holder = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? holder.close() }
        try holder.bind(to: try SocketAddress(host: "127.0.0.1", port: 0))
        let client = try Socket(family: .inet, type: .stream, protocol: .tcp)
        defer { try? client.close() }
        await #expect(throws: Errno.connectionRefused) { try await client.connectWaiting(to: try holder.localAddress()) }
    }

    @Test("listen on a UDP socket fails with EOPNOTSUPP")
    func listenOnUDPFails() throws {
        let socket = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? socket.close() }
        #expect(throws: Errno(rawValue: EOPNOTSUPP)) { try socket.listen(backlog: 1) }
    }

    @Test("UDP: the receiver learns the sender; a datagram longer than maxBytes is truncated with its full length")
    func udpSenderAndTruncation() async throws {
        let receiver = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? receiver.close() }
        try receiver.bind(to: try SocketAddress(host: "127.0.0.1", port: 0))
        let sender = try Socket(family: .inet, type: .dgram, protocol: .udp)
        defer { try? sender.close() }
        try sender.bind(to: try SocketAddress(host: "127.0.0.1", port: 0))
        let target = try receiver.localAddress()

        try sender.sendText("ping", to: target)
        let first = try await receiver.receiveWaiting(maxBytes: 64)
        let senderAddress = try sender.localAddress()
        #expect(text(first) == "ping" && first.from == senderAddress)
        #expect(!first.truncated && first.fullLength == 4 && !first.endOfFile)

        try sender.sendText(String(repeating: "x", count: 100), to: target)
        let second = try await receiver.receiveWaiting(maxBytes: 10)
        #expect(second.bytes.count == 10 && second.truncated && second.fullLength == 100)
    }

    @Test("OOB: a byte sent with .oob on TCP is received with .oob, apart from the normal bytes")
    func outOfBandByte() async throws {
        let (listener, client, server) = try await loopbackTCP(.inet)
        defer { try? listener.close(); try? client.close(); try? server.close() }
        try client.sendText("ab")
        try client.sendText("!", flags: .oob)
        // Urgent data is signalled by POLLPRI, which the reactor does not wait for: poll(2) with a timeout.
        var entry = pollfd(fd: try server.withUnsafeFileDescriptor { $0 }, events: Int16(POLLPRI), revents: 0)
        #expect(poll(&entry, 1, 5_000) == 1)
        let urgent = try #require(try server.receive(maxBytes: 1, flags: .oob))
        #expect(text(urgent) == "!")
        #expect(text(try await server.receiveWaiting(maxBytes: 16)) == "ab")
    }

    @Test("Unix stream sockets connect by path and by abstract name", arguments: [false, true])
    func unixStream(abstract: Bool) async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["listen.sock"]) }
        let address = abstract
            ? try SocketAddress(abstractName: "sockpit-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            : try SocketAddress(unixPath: "\(directory)/listen.sock")
        let listener = try Socket(family: .unix, type: .stream)
        defer { try? listener.close() }
        try listener.bind(to: address)
        try listener.listen(backlog: 4)
        #expect(try listener.localAddress() == address)
        let client = try Socket(family: .unix, type: .stream)
        defer { try? client.close() }
        try await client.connectWaiting(to: address)
        let (server, peer) = try await listener.acceptWaiting()
        defer { try? server.close() }
        #expect(peer == .unix(path: ""), "an unbound client is unnamed")
        try client.sendText("over unix")
        #expect(text(try await server.receiveWaiting(maxBytes: 64)) == "over unix")
    }

    @Test("Unix datagrams by path report the sender's path")
    func unixDatagram() async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["a.sock", "b.sock"]) }
        let receiver = try Socket(family: .unix, type: .dgram)
        defer { try? receiver.close() }
        try receiver.bind(to: try SocketAddress(unixPath: "\(directory)/a.sock"))
        let sender = try Socket(family: .unix, type: .dgram)
        defer { try? sender.close() }
        try sender.bind(to: try SocketAddress(unixPath: "\(directory)/b.sock"))
        try sender.sendText("datagram", to: try receiver.localAddress())
        let message = try await receiver.receiveWaiting(maxBytes: 64)
        #expect(text(message) == "datagram" && message.from == .unix(path: "\(directory)/b.sock"))
    }

    @Test("Unix seqpacket keeps message boundaries and reports a truncated record")
    func seqpacketBoundaries() async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["seq.sock"]) }
        let address = try SocketAddress(unixPath: "\(directory)/seq.sock")
        let listener = try Socket(family: .unix, type: .seqpacket)
        defer { try? listener.close() }
        try listener.bind(to: address)
        try listener.listen(backlog: 4)
        let client = try Socket(family: .unix, type: .seqpacket)
        defer { try? client.close() }
        try await client.connectWaiting(to: address)
        let (server, _) = try await listener.acceptWaiting()
        defer { try? server.close() }
        try client.sendText("one")
        try client.sendText("two", flags: .endOfRecord)
        try client.sendText("0123456789")
        #expect(text(try await server.receiveWaiting(maxBytes: 64)) == "one")
        #expect(text(try await server.receiveWaiting(maxBytes: 64)) == "two")
        let long = try await server.receiveWaiting(maxBytes: 4)
        #expect(text(long) == "0123" && long.truncated && long.fullLength == 10)
        try client.shutdown(.both)
        #expect(try await server.receiveWaiting(maxBytes: 64).endOfFile)
    }

    @Test("The ends of a socketpair are unnamed")
    func socketPairIsUnnamed() throws {
        let (left, right) = try Socket.pair(type: .stream)
        defer { try? left.close(); try? right.close() }
        #expect(try left.localAddress() == .unix(path: ""))
        #expect(try left.peerAddress() == .unix(path: ""))
    }

    @Test("Send flags parse by API name")
    func sendFlagNames() {
        #expect(SendFlags.allNames == ["oob", "dontroute", "more", "eor", "confirm"])
        #expect(SendFlags.named("eor") == .endOfRecord)
        #expect(SendFlags.named("EOR") == nil)
    }
}
