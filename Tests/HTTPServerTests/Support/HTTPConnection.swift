import Glibc

/// Why the test client failed: the syscall and its errno, a timeout, or a malformed response.
enum HTTPClientError: Error, CustomStringConvertible {
    /// A syscall failed with this errno.
    case syscall(String, errno: Int32)
    /// No data (or no room to send) within the connection's timeout.
    case timedOut
    /// The server closed the connection before the expected bytes arrived.
    case closedByPeer
    /// The bytes received are not HTTP/1.1 as expected.
    case malformed(String)

    var description: String {
        switch self {
        case .syscall(let name, let code): "\(name) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .timedOut: "timed out waiting for the server"
        case .closedByPeer: "the server closed the connection"
        case .malformed(let what): "malformed response: \(what)"
        }
    }
}

/// One header line of a response, as received.
struct HeaderField: Sendable, Equatable {
    /// The name, with the case the server used.
    let name: String
    /// The value, without leading whitespace.
    let value: String
}

/// A response's status line and headers.
struct ResponseHead: Sendable {
    /// "HTTP/1.1" or "HTTP/1.0".
    let version: String
    /// The status code.
    let status: Int
    /// The header lines in the order received.
    let headers: [HeaderField]

    /// The first value of a header, matched case-insensitively.
    func value(of name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Whether the server announced that it will close the connection after this response.
    var closesConnection: Bool { value(of: "Connection")?.lowercased().contains("close") ?? false }

    /// Whether the body uses chunked transfer coding.
    var isChunked: Bool { value(of: "Transfer-Encoding")?.lowercased().contains("chunked") ?? false }
}

/// A complete response.
struct ResponseMessage: Sendable {
    /// Status line and headers.
    let head: ResponseHead
    /// The body, de-chunked.
    let body: [UInt8]

    /// The status code.
    var status: Int { head.status }
    /// The body decoded as UTF-8.
    var text: String { String(decoding: body, as: UTF8.self) }
    /// The first value of a header, matched case-insensitively.
    func header(_ name: String) -> String? { head.value(of: name) }
}

/// A minimal blocking HTTP/1.1 client over one TCP connection to 127.0.0.1, so tests control keep-alive and
/// see raw headers and chunk boundaries.
///
/// Every call blocks its thread (bounded by `SO_RCVTIMEO`/`SO_SNDTIMEO`): call it from `offload { }`, never
/// directly from a task, or the cooperative pool that runs the server's handlers could be starved.
final class HTTPConnection: @unchecked Sendable {
    private var fd: Int32
    private var pending: [UInt8] = []
    private var pendingStart = 0

    /// Connects to 127.0.0.1:`port` (from 127.0.0.`source` when given); I/O waits fail with `.timedOut` after
    /// `timeout`.
    init(port: Int, timeout: Duration = .seconds(10), source: UInt8? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError.syscall("socket", errno: errno) }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = in_addr_t(0x7F00_0000 | UInt32(source)).bigEndian
            let rc = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else {
                let code = errno
                Glibc.close(fd)
                throw HTTPClientError.syscall("bind", errno: code)
            }
        }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let code = Self.connect(fd, port: port) {
            Glibc.close(fd)
            fd = -1
            throw HTTPClientError.syscall("connect", errno: code)
        }
    }

    deinit { close() }

    /// The errno of a connection attempt to 127.0.0.1:`port`, or nil when it succeeds.
    static func connectionError(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { Glibc.close(fd) }
        return connect(fd, port: port)
    }

    private static func connect(_ fd: Int32, port: Int) -> Int32? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc == 0 { return nil }
            if errno != EINTR { return errno }
        }
    }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    // MARK: Sending

    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw HTTPClientError.timedOut }
                throw HTTPClientError.syscall("send", errno: errno)
            }
            offset += n
        }
    }

    /// Writes a UTF-8 string.
    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Writes a request; a body gets `Content-Length` unless `headers` already frame it, and `Host: 127.0.0.1`
    /// is sent unless `headers` name a host.
    func sendRequest(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws {
        var head = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { head += "Host: 127.0.0.1\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let framed = headers.contains { ["content-length", "transfer-encoding"].contains($0.0.lowercased()) }
        if let body, !framed { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
    }

    /// Sends a request and reads its whole response.
    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> ResponseMessage {
        try sendRequest(method, target, headers: headers, body: body)
        return try readResponse(method: method)
    }

    // MARK: Receiving

    /// Reads a full response: head, then a body framed by `Content-Length`, chunks, or the end of the connection.
    func readResponse(method: String = "GET") throws -> ResponseMessage {
        let head = try readHead()
        if method == "HEAD" || head.status == 204 || head.status == 304 { return ResponseMessage(head: head, body: []) }
        if head.isChunked {
            var body: [UInt8] = []
            while let chunk = try readChunk() { body += chunk }
            return ResponseMessage(head: head, body: body)
        }
        if let length = head.value(of: "Content-Length") {
            guard let count = Int(length) else { throw HTTPClientError.malformed("Content-Length '\(length)'") }
            return ResponseMessage(head: head, body: try readExactly(count))
        }
        return ResponseMessage(head: head, body: try readUntilClosed())
    }

    /// Reads a status line and headers, skipping interim (1xx) responses.
    func readHead() throws -> ResponseHead {
        while true {
            let statusLine = try readLine()
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
                throw HTTPClientError.malformed("status line '\(statusLine)'")
            }
            var headers: [HeaderField] = []
            while true {
                let line = try readLine()
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { throw HTTPClientError.malformed("header line '\(line)'") }
                let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                headers.append(HeaderField(name: String(line[..<colon]), value: String(value)))
            }
            if (100..<200).contains(status) { continue }
            return ResponseHead(version: String(parts[0]), status: status, headers: headers)
        }
    }

    /// Reads one chunk of a chunked body; nil for the last (zero-size) chunk, whose trailers it consumes.
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        guard let size = Int(hex.trimmingSpaces, radix: 16) else { throw HTTPClientError.malformed("chunk size '\(sizeLine)'") }
        if size == 0 {
            while !(try readLine()).isEmpty {}
            return nil
        }
        let data = try readExactly(size)
        guard try readLine().isEmpty else { throw HTTPClientError.malformed("chunk of \(size) bytes not followed by CRLF") }
        return data
    }

    /// Reads until the server closes the connection.
    func readUntilClosed() throws -> [UInt8] {
        while try fill() > 0 {}
        return take(pending.count - pendingStart)
    }

    /// Waits for the server to end the connection: true on an orderly close or a reset, false if more data
    /// arrives first.
    func waitForClose() throws -> Bool {
        if pending.count > pendingStart { return false }
        do {
            return try fill() == 0
        } catch HTTPClientError.syscall(_, let code) where code == ECONNRESET {
            return true
        }
    }

    /// Reads exactly `count` bytes.
    func readExactly(_ count: Int) throws -> [UInt8] {
        while pending.count - pendingStart < count {
            guard try fill() > 0 else { throw HTTPClientError.closedByPeer }
        }
        return take(count)
    }

    private func readLine() throws -> String {
        var searchFrom = pendingStart
        while true {
            if let end = Self.crlf(in: pending, from: searchFrom) {
                let line = String(decoding: pending[pendingStart..<end], as: UTF8.self)
                _ = take(end + 2 - pendingStart)
                return line
            }
            searchFrom = max(pendingStart, pending.count - 1)
            guard try fill() > 0 else { throw HTTPClientError.closedByPeer }
        }
    }

    private static func crlf(in bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    private func take(_ count: Int) -> [UInt8] {
        let out = Array(pending[pendingStart..<(pendingStart + count)])
        pendingStart += count
        if pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
        } else if pendingStart > 1 << 16 {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        return out
    }

    /// One `recv`; returns the byte count, 0 at end of stream.
    @discardableResult
    private func fill() throws -> Int {
        var scratch = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = scratch.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 {
                pending.append(contentsOf: scratch[0..<n])
                return n
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw HTTPClientError.timedOut }
            throw HTTPClientError.syscall("recv", errno: errno)
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
