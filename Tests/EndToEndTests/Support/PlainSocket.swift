import Glibc

/// Why a plain socket call failed: the call and its errno.
struct PlainSocketError: Error, CustomStringConvertible {
    /// The failing call.
    let call: String
    /// The errno value.
    let code: Int32
    /// The call, the errno's message and number.
    var description: String { "\(call) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

/// The test's own TCP/IPv4 socket, made with Glibc directly: a peer outside the service, to prove that managed
/// sockets talk to ordinary ones. Blocking, with 5 s send/receive timeouts so a broken service fails the test
/// instead of hanging it; call the blocking methods through `offload` so no cooperative thread is held.
final class PlainSocket: @unchecked Sendable {
    /// The descriptor; -1 once closed.
    private(set) var fd: Int32

    private init(fd: Int32) throws {
        self.fd = fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            guard setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
                throw PlainSocketError(call: "setsockopt", code: errno)
            }
        }
    }

    /// A new TCP/IPv4 socket.
    convenience init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PlainSocketError(call: "socket", code: errno) }
        try self.init(fd: fd)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Binds to 127.0.0.1:`port` (0: the kernel chooses).
    func bindLoopback(port: UInt16 = 0) throws {
        var address = Self.loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw PlainSocketError(call: "bind", code: errno) }
    }

    /// Starts listening.
    func listen() throws {
        guard Glibc.listen(fd, 16) == 0 else { throw PlainSocketError(call: "listen", code: errno) }
    }

    /// The bound port (`getsockname`).
    func localPort() throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw PlainSocketError(call: "getsockname", code: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits (up to 5 s) for a connection and returns it. Blocking.
    func accept() throws -> PlainSocket {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, 5000) == 1 else { throw PlainSocketError(call: "poll (accept)", code: ETIMEDOUT) }
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw PlainSocketError(call: "accept", code: errno) }
        return try PlainSocket(fd: client)
    }

    /// Connects to 127.0.0.1:`port`. Blocking.
    func connectLoopback(port: Int) throws {
        var address = Self.loopback(port: UInt16(port))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw PlainSocketError(call: "connect", code: errno) }
    }

    /// Writes every byte. Blocking.
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw PlainSocketError(call: "send", code: errno) }
            offset += written
        }
    }

    /// Reads exactly `count` bytes, or fewer if the peer closes. Blocking (5 s per read).
    func read(count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while bytes.count < count {
            let got = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, count - bytes.count, 0) }
            guard got >= 0 else { throw PlainSocketError(call: "recv", code: errno) }
            if got == 0 { break }
            bytes += buffer[..<got]
        }
        return bytes
    }

    /// Closes the descriptor now.
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}

/// The closure a dedicated thread runs, boxed for `pthread_create`'s context pointer.
private final class ThreadJob: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Runs blocking work (the plain socket's I/O) on a new thread and awaits its result: blocking inside a task
/// would hold one of the few cooperative threads, which also run the service's handlers.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let job = Unmanaged.passRetained(ThreadJob { continuation.resume(with: Result(catching: work)) })
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<ThreadJob>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, job.toOpaque())
        if rc == 0 {
            pthread_detach(thread)
        } else {
            job.release()
            continuation.resume(throwing: PlainSocketError(call: "pthread_create", code: rc))
        }
    }
}
