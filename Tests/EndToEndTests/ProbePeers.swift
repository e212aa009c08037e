import Foundation
import Glibc

/// A socket of the test's own, made with Glibc directly: the far end a probe meets (a listener, a banner
/// server, a UDP echo server, a reserved closed port). IPv4, IPv6 or Unix; blocking calls wait at most 5 s
/// and run through `offload`, so a broken service fails the test instead of hanging it.
final class PeerSocket: @unchecked Sendable {
    /// The descriptor; -1 once closed.
    private(set) var fd: Int32
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`.
    let family: Int32
    /// The Unix path bound, removed again on close.
    private var unixPath: String?

    /// A new socket of `family` (`AF_INET`, `AF_INET6`, `AF_UNIX`) and `type` (`SOCK_STREAM`, `SOCK_DGRAM`).
    init(family: Int32, type: Int32) throws {
        let fd = socket(family, type, 0)
        guard fd >= 0 else { throw PlainSocketError(call: "socket", code: errno) }
        self.fd = fd
        self.family = family
    }

    /// A socket for `host`'s family: `::1` and other names with a colon are IPv6.
    convenience init(host: String, type: Int32) throws {
        try self.init(family: host.contains(":") ? AF_INET6 : AF_INET, type: type)
    }

    deinit { close() }

    /// Closes the descriptor (and removes a bound Unix path) now.
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        if let unixPath { unlink(unixPath) }
        unixPath = nil
    }

    /// Binds to `host`:`port` (0: the kernel chooses).
    func bind(host: String, port: UInt16 = 0) throws {
        var storage = try Self.address(host: host, port: port)
        let result = withUnsafePointer(to: &storage.address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, storage.length) }
        }
        guard result == 0 else { throw PlainSocketError(call: "bind \(host):\(port)", code: errno) }
    }

    /// Binds to the filesystem Unix path `path`.
    func bind(unixPath path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw PlainSocketError(call: "bind \(path)", code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw PlainSocketError(call: "bind \(path)", code: errno) }
        unixPath = path
    }

    /// Connects (a UDP socket: fixes its peer) to `host`:`port`.
    func connect(host: String, port: UInt16) throws {
        var storage = try Self.address(host: host, port: port)
        let result = withUnsafePointer(to: &storage.address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, storage.length) }
        }
        guard result == 0 else { throw PlainSocketError(call: "connect \(host):\(port)", code: errno) }
    }

    /// Starts listening.
    func listen() throws {
        guard Glibc.listen(fd, 64) == 0 else { throw PlainSocketError(call: "listen", code: errno) }
    }

    /// The bound port (`getsockname`).
    func port() throws -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw PlainSocketError(call: "getsockname", code: errno) }
        return withUnsafePointer(to: &storage) { pointer in
            family == AF_INET6
                ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Waits up to 5 s until the socket is readable (a connection to accept, a datagram to read). Blocking.
    func awaitReadable(_ what: String) throws {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, 5000) == 1 else { throw PlainSocketError(call: "poll (\(what))", code: ETIMEDOUT) }
    }

    /// Accepts one connection (waiting up to 5 s) and returns its descriptor. Blocking.
    func acceptOne() throws -> Int32 {
        try awaitReadable("accept")
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw PlainSocketError(call: "accept", code: errno) }
        return client
    }

    /// Reads one datagram (waiting up to 5 s): its bytes and its sender. Blocking.
    func receiveFrom() throws -> (bytes: [UInt8], sender: Sender) {
        try awaitReadable("recvfrom")
        var buffer = [UInt8](repeating: 0, count: 65536)
        var sender = Sender()
        let got = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &sender.address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &sender.length)
                }
            }
        }
        guard got >= 0 else { throw PlainSocketError(call: "recvfrom", code: errno) }
        return (Array(buffer[..<got]), sender)
    }

    /// Sends `bytes` as one datagram to `sender`.
    func send(_ bytes: [UInt8], to sender: Sender) throws {
        var sender = sender
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &sender.address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, sender.length)
                }
            }
        }
        guard sent == bytes.count else { throw PlainSocketError(call: "sendto", code: errno) }
    }

    /// Where a datagram came from, to answer it.
    struct Sender: Sendable {
        /// The sender's address.
        var address = sockaddr_storage()
        /// Its length.
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    }

    /// `host`:`port` as a socket address; `host` is a numeric IPv4 or IPv6 address.
    private static func address(host: String, port: UInt16) throws -> (address: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw PlainSocketError(call: "inet_pton \(host)", code: EINVAL) }
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: address) { target.copyMemory(from: $0) } }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw PlainSocketError(call: "inet_pton \(host)", code: EINVAL) }
        withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: address) { target.copyMemory(from: $0) } }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
}

/// The far ends the probe tests set up, each on loopback and each released when the value goes away.
enum ProbePeer {
    /// A TCP port that is open: a listener nobody accepts on (the kernel completes handshakes from its backlog).
    static func openTCPPort(host: String) throws -> (socket: PeerSocket, port: Int) {
        let socket = try PeerSocket(host: host, type: Int32(SOCK_STREAM.rawValue))
        try socket.bind(host: host)
        try socket.listen()
        return (socket, Int(try socket.port()))
    }

    /// A TCP port that is closed: bound but not listening, so nothing else can take it and connects to it are
    /// answered with a RST (`ECONNREFUSED`).
    static func closedTCPPort(host: String) throws -> (socket: PeerSocket, port: Int) {
        let socket = try PeerSocket(host: host, type: Int32(SOCK_STREAM.rawValue))
        try socket.bind(host: host)
        return (socket, Int(try socket.port()))
    }

    /// `count` consecutive TCP ports bound on `host` (not listening yet), for range forms like "P-P+2".
    /// The first tries start from the kernel's choice; later ones from random bases, because after a suite's
    /// worth of loopback connections the kernel can keep offering ports whose neighbours sit in TIME_WAIT.
    static func consecutiveTCPPorts(host: String, count: Int) throws -> [PeerSocket] {
        for attempt in 0..<200 {
            let first = try PeerSocket(host: host, type: Int32(SOCK_STREAM.rawValue))
            if attempt < 10 {
                try first.bind(host: host)
            } else {
                guard (try? first.bind(host: host, port: UInt16.random(in: 20_000...60_000))) != nil else { continue }
            }
            let base = try first.port()
            guard Int(base) + count - 1 <= 65535 else { continue }
            var sockets = [first]
            for offset in 1..<count {
                let next = try PeerSocket(host: host, type: Int32(SOCK_STREAM.rawValue))
                guard (try? next.bind(host: host, port: base + UInt16(offset))) != nil else { break }
                sockets.append(next)
            }
            if sockets.count == count { return sockets }
        }
        throw PlainSocketError(call: "bind \(count) consecutive ports", code: EADDRINUSE)
    }

    /// A UDP port that is closed yet reserved: a socket bound to it and connected to itself matches no datagram
    /// from anyone else, so the kernel answers those with an ICMP port unreachable, as for a port nobody holds.
    static func closedUDPPort(host: String) throws -> (socket: PeerSocket, port: Int) {
        let socket = try PeerSocket(host: host, type: Int32(SOCK_DGRAM.rawValue))
        try socket.bind(host: host)
        let port = try socket.port()
        try socket.connect(host: host, port: port)
        return (socket, Int(port))
    }

    /// A bound UDP socket on `host` whose datagrams the test reads and answers itself.
    static func udpServer(host: String) throws -> (socket: PeerSocket, port: Int) {
        let socket = try PeerSocket(host: host, type: Int32(SOCK_DGRAM.rawValue))
        try socket.bind(host: host)
        return (socket, Int(try socket.port()))
    }

    /// Echoes `count` datagrams back to their senders, on a thread of its own; returns what it echoed.
    static func echo(_ socket: PeerSocket, count: Int) async throws -> [[UInt8]] {
        try await offload {
            var echoed: [[UInt8]] = []
            for _ in 0..<count {
                let (bytes, sender) = try socket.receiveFrom()
                try socket.send(bytes, to: sender)
                echoed.append(bytes)
            }
            return echoed
        }
    }

    /// Accepts `count` connections on `listener`, writing `banner` to each and closing it, on a thread of its
    /// own; returns when all were served.
    static func serveBanner(_ listener: PeerSocket, banner: String, count: Int = 1) async throws {
        try await offload {
            for _ in 0..<count {
                let client = try listener.acceptOne()
                defer { Glibc.close(client) }
                let bytes = Array(banner.utf8)
                let sent = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent == bytes.count else { throw PlainSocketError(call: "send banner", code: errno) }
            }
        }
    }

    /// A listening Unix stream socket at `name` inside the service's sockets directory.
    static func unixListener(in service: Service, name: String) throws -> PeerSocket {
        let socket = try PeerSocket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
        try socket.bind(unixPath: service.socketsDirectory + "/" + name)
        try socket.listen()
        return socket
    }
}
