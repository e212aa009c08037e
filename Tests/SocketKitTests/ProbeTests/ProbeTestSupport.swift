import Glibc
@testable import SocketKit
import Synchronization
import SystemPackage
import Testing

/// Servers for the probe suites: real sockets on loopback, served by an OS thread of their own.
///
/// A thread, not a task: CI runs every suite in parallel on two cores, and a task on a busy cooperative pool
/// can wait longer than a probe's read timeout before it sends its banner or echo; the kernel schedules a
/// thread regardless. The thread polls the server socket, its connections and a wake socket. Each connection
/// stays open until the peer hangs up or ``stop()``, so a probe sees a live peer for as long as it reads.
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
    /// Written to by ``stop()`` (or `deinit`) to end the thread's poll.
    private let wake: Socket
    private let loop: ProbeServerLoop
    private let thread: pthread_t
    private let stopped = Mutex(false)

    /// A server on an already bound socket; stream sockets must be listening.
    init(socket: Socket, behaviour: Behaviour) throws {
        self.socket = socket
        let (wakeReader, wakeWriter) = try Socket.pair(type: .stream)
        wake = wakeWriter
        loop = ProbeServerLoop(server: socket, wake: wakeReader, behaviour: behaviour)
        thread = try loop.start()
    }

    /// A TCP server on an ephemeral loopback port.
    static func tcp(_ family: AddressFamily, _ behaviour: Behaviour) throws -> ProbeTestServer {
        let socket = try Socket(family: family, type: .stream, protocol: .tcp)
        try socket.bind(to: loopback(family))
        try socket.listen(backlog: 1024)
        return try ProbeTestServer(socket: socket, behaviour: behaviour)
    }

    /// A UDP server on an ephemeral loopback port.
    static func udp(_ family: AddressFamily, _ behaviour: Behaviour) throws -> ProbeTestServer {
        let socket = try Socket(family: family, type: .dgram, protocol: .udp)
        try socket.bind(to: loopback(family))
        return try ProbeTestServer(socket: socket, behaviour: behaviour)
    }

    /// The port the server is bound to.
    var port: UInt16 { get throws { try #require(try socket.localAddress().port) } }

    /// Wakes the thread, awaits its end (it closes the connections it accepted) and closes the server's sockets.
    func stop() async {
        guard stopped.withLock({ (stopped: inout Bool) -> Bool in defer { stopped = true }; return !stopped }) else { return }
        wakeThread()
        await loop.ended()
        // The thread has nothing left to do but return: this join is immediate.
        pthread_join(thread, nil)
        try? socket.close()
        try? wake.close()
    }

    private func wakeThread() {
        _ = try? wake.send([1], to: nil, flags: [])
    }

    deinit {
        // A test that failed before stop(): the thread still ends, its sockets close with it.
        if !stopped.withLock({ $0 }) {
            wakeThread()
            pthread_detach(thread)
        }
    }
}

/// The body of a ``ProbeTestServer``'s thread, and the signal of its end.
private final class ProbeServerLoop: Sendable {
    private enum State {
        case running(waiters: [CheckedContinuation<Void, Never>])
        case ended
    }

    private let server: Socket
    private let wake: Socket
    private let behaviour: ProbeTestServer.Behaviour
    private let state = Mutex(State.running(waiters: []))

    init(server: Socket, wake: Socket, behaviour: ProbeTestServer.Behaviour) {
        self.server = server
        self.wake = wake
        self.behaviour = behaviour
    }

    /// Starts the thread, which keeps the loop alive until it returns.
    func start() throws(Errno) -> pthread_t {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<ProbeServerLoop>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<ProbeServerLoop>.fromOpaque(context).release()
            throw Errno(rawValue: result)
        }
        return thread
    }

    /// Returns once the thread has closed its sockets and is about to exit.
    func ended() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { state -> Bool in
                guard case .running(var waiters) = state else { return true }
                waiters.append(continuation)
                state = .running(waiters: waiters)
                return false
            }
            if ended { continuation.resume() }
        }
    }

    private func run() {
        var connections: [(socket: Socket, fd: CInt)] = []
        defer {
            for connection in connections { try? connection.socket.close() }
            try? wake.close()
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state = .ended }
                if case .running(let waiters) = state { return waiters }
                return []
            }
            for waiter in waiters { waiter.resume() }
        }
        // Only this thread closes `wake` and the connections, and `server` is closed after it ends: the
        // numbers stay valid for as long as they are polled.
        guard let wakeFD = try? wake.withUnsafeFileDescriptor({ $0 }),
              let serverFD = try? server.withUnsafeFileDescriptor({ $0 }) else { return }
        let readable = Int16(POLLIN)
        while true {
            var polled = [pollfd(fd: wakeFD, events: readable, revents: 0), pollfd(fd: serverFD, events: readable, revents: 0)]
            polled += connections.map { pollfd(fd: $0.fd, events: readable, revents: 0) }
            // No timeout: the wake socket is the only way out, so nothing here depends on the clock.
            guard (try? syscall { poll(&polled, nfds_t(polled.count), -1) }) != nil else { return }
            if polled[0].revents != 0 { return }
            for index in connections.indices.reversed() where polled[index + 2].revents != 0 {
                if !serve(connections[index].socket) {
                    try? connections[index].socket.close()
                    connections.remove(at: index)
                }
            }
            guard polled[1].revents != 0 else { continue }
            if server.type == .dgram {
                answerDatagrams()
            } else {
                connections += acceptConnections()
            }
        }
    }

    /// Everything waiting in the backlog, each sent the banner at once.
    private func acceptConnections() -> [(socket: Socket, fd: CInt)] {
        var accepted: [(socket: Socket, fd: CInt)] = []
        while let connection = try? server.accept()?.socket {
            guard let fd = try? connection.withUnsafeFileDescriptor({ $0 }) else { continue }
            if case .banner(let bytes) = behaviour { _ = try? connection.send(bytes[...], to: nil, flags: []) }
            accepted.append((connection, fd))
        }
        return accepted
    }

    /// Reads what a connection has queued, echoing it if asked to; false once the peer hung up or failed.
    private func serve(_ connection: Socket) -> Bool {
        while true {
            do {
                guard let message = try connection.receive(maxBytes: 4096, flags: []) else { return true }
                if message.endOfFile { return false }
                if case .echo = behaviour { _ = try? connection.send(message.bytes[...], to: nil, flags: []) }
            } catch {
                return false
            }
        }
    }

    /// Reads every queued datagram, echoing each to its sender if asked to.
    private func answerDatagrams() {
        while let message = try? server.receive(maxBytes: 65536, flags: []) {
            if case .echo = behaviour { _ = try? server.send(message.bytes[...], to: message.from, flags: []) }
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

/// Probe options for loopback peers that answer at once.
///
/// A probe returns as soon as its connect ends and its reply matches (or, without an expectation, as soon as
/// the first bytes come), so on a healthy machine these timeouts are never waited out; they are long so that
/// a loaded one (CI runs every suite in parallel on two cores) still gets its answer in time. A test whose
/// verdict needs a timeout to pass sets its own, short one.
func quickOptions(
    payload: [UInt8]? = nil, expect: ByteMatcher? = nil, readBanner: Bool = false
) -> PortProbeOptions {
    var options = PortProbeOptions()
    options.timeout = .seconds(10)
    options.readTimeout = .seconds(10)
    options.payload = payload
    options.expect = expect
    options.readBanner = readBanner
    return options
}

/// Whether `prefix` starts `bytes`.
func starts(with prefix: String) -> ByteMatcher {
    let prefix = Array(prefix.utf8)
    return ByteMatcher {
        var seen: [UInt8] = []
        return { bytes in
            seen += bytes
            return seen.starts(with: prefix)
        }
    }
}
