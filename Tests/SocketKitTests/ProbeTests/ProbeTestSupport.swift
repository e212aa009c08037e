import Glibc
@testable import SocketKit
import SystemPackage
import Testing

/// Servers for the probe suites: real sockets on loopback, served by a task that waits with the Reactor.
///
/// Each server keeps what it accepts open until ``stop()``, so a probe sees a live peer for as long as it
/// reads. Stopping cancels the task (its Reactor wait ends at once) and closes every socket.
final class ProbeTestServer: Sendable {
    /// What a connection or a datagram gets back.
    enum Behaviour: Sendable {
        /// Sends these bytes as soon as a connection is accepted, then stays silent.
        case banner([UInt8])
        /// Sends back whatever it receives (TCP, Unix streams and datagrams).
        case echo
        /// Receives and never answers.
        case silent
    }

    /// The listening or bound socket.
    let socket: Socket
    private let task: Task<Void, Never>

    /// A server on an already bound socket; stream sockets must be listening.
    init(socket: Socket, behaviour: Behaviour) {
        self.socket = socket
        task = Task {
            if socket.type == .dgram {
                await Self.serveDatagrams(socket, behaviour)
            } else {
                await Self.serveConnections(socket, behaviour)
            }
        }
    }

    /// A TCP server on an ephemeral loopback port.
    static func tcp(_ family: AddressFamily, _ behaviour: Behaviour) throws -> ProbeTestServer {
        let socket = try Socket(family: family, type: .stream, protocol: .tcp)
        try socket.bind(to: loopback(family))
        try socket.listen(backlog: 1024)
        return ProbeTestServer(socket: socket, behaviour: behaviour)
    }

    /// A UDP server on an ephemeral loopback port.
    static func udp(_ family: AddressFamily, _ behaviour: Behaviour) throws -> ProbeTestServer {
        let socket = try Socket(family: family, type: .dgram, protocol: .udp)
        try socket.bind(to: loopback(family))
        return ProbeTestServer(socket: socket, behaviour: behaviour)
    }

    /// The port the server is bound to.
    var port: UInt16 { get throws { try #require(try socket.localAddress().port) } }

    /// Ends the task and closes the server's sockets.
    func stop() async {
        task.cancel()
        await task.value
        try? socket.close()
    }

    private static func serveConnections(_ listener: Socket, _ behaviour: Behaviour) async {
        await withTaskGroup(of: Void.self) { group in
            while let connection = try? await next(listener.accept(), on: listener, .readable) {
                group.addTask { await serve(connection.socket, behaviour) }
            }
            group.cancelAll()
        }
    }

    private static func serve(_ connection: Socket, _ behaviour: Behaviour) async {
        defer { try? connection.close() }
        if case .banner(let bytes) = behaviour { _ = try? connection.send(bytes[...], to: nil, flags: []) }
        // Connected until the probe hangs up (or the server stops): the probe decides how long it reads.
        while let message = try? await next(connection.receive(maxBytes: 4096, flags: []), on: connection, .readable),
              !message.endOfFile {
            if case .echo = behaviour { _ = try? connection.send(message.bytes[...], to: nil, flags: []) }
        }
    }

    private static func serveDatagrams(_ socket: Socket, _ behaviour: Behaviour) async {
        while let message = try? await next(socket.receive(maxBytes: 65536, flags: []), on: socket, .readable) {
            if case .echo = behaviour { _ = try? socket.send(message.bytes[...], to: message.from, flags: []) }
        }
    }

    /// Retries a non-blocking call until it gives something, waiting with the Reactor; throws once cancelled.
    private static func next<T>(
        _ attempt: @autoclosure () throws -> T?, on socket: Socket, _ interest: Interest
    ) async throws -> T {
        while true {
            if let value = try attempt() { return value }
            let fd = try socket.withUnsafeFileDescriptor { $0 }
            _ = try await Reactor.shared.wait(for: interest, on: fd, until: .now + .seconds(60))
        }
    }
}

/// `127.0.0.1` or `::1`, port 0.
func loopback(_ family: AddressFamily, port: UInt16 = 0) -> SocketAddress {
    family == .inet ? .v4(host: .loopback, port: port) : .v6(host: .loopback, port: port, scopeID: 0)
}

/// A loopback port with nothing behind it: bound by the kernel's choice, then closed again.
///
/// Another process could take it in between; on a test machine that is rare enough to accept.
func unusedPort(_ family: AddressFamily, type: SocketType) throws -> UInt16 {
    let socket = try Socket(family: family, type: type)
    defer { try? socket.close() }
    try socket.bind(to: loopback(family))
    return try #require(try socket.localAddress().port)
}

/// Probe options with short timeouts, so that a test that goes wrong fails fast.
func quickOptions(
    payload: [UInt8]? = nil, expect: ByteMatcher? = nil, readBanner: Bool = false
) -> PortProbeOptions {
    var options = PortProbeOptions()
    options.timeout = .seconds(2)
    options.readTimeout = .seconds(2)
    options.payload = payload
    options.expect = expect
    options.readBanner = readBanner
    return options
}

/// Whether `prefix` starts `bytes`.
func starts(with prefix: String) -> ByteMatcher {
    let prefix = Array(prefix.utf8)
    return { $0.starts(with: prefix) }
}
