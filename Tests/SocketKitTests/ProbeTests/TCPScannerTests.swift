import Glibc
@testable import SocketKit
import SystemPackage
import Testing

@Suite("TCPScanner: connect scans on loopback")
struct TCPScannerTests {
    @Test("a listening port is open, with a connect time and no errno", arguments: [AddressFamily.inet, .inet6])
    func listeningPortIsOpen(family: AddressFamily) async throws {
        let server = try ProbeTestServer.tcp(family, .silent)
        let port = try server.port
        let results = await TCPScanner.scan(host: loopback(family), ports: [port], options: quickOptions())
        await server.stop()
        let result = try #require(results.first)
        #expect(results.count == 1)
        #expect(result.port == port && result.state == .open && result.errno == nil)
        // No upper bound: the connect time is capped by the timeout already, and a loaded machine stretches it.
        #expect(try #require(result.rtt) > .zero)
        #expect(result.reply == nil && result.firstByte == nil && result.expectMatched == nil && result.ttl == nil)
    }

    @Test("a port bound but not listening is closed with ECONNREFUSED and a connect time", arguments: [
        AddressFamily.inet, .inet6,
    ])
    func boundPortWithoutListenerIsClosed(family: AddressFamily) async throws {
        let bound = try Socket(family: family, type: .stream, protocol: .tcp)
        defer { try? bound.close() }
        try bound.bind(to: loopback(family))
        let port = try #require(try bound.localAddress().port)
        let results = await TCPScanner.scan(host: loopback(family), ports: [port], options: quickOptions())
        let result = try #require(results.first)
        #expect(result.state == .closed && result.errno == "ECONNREFUSED")
        #expect(try #require(result.rtt) > .zero)
    }

    @Test("results follow the order of the ports, whatever the window", arguments: [1, 2, 512])
    func resultsInPortOrder(concurrency: Int) async throws {
        let server = try ProbeTestServer.tcp(.inet, .silent)
        let open = try server.port
        let closed = try [unusedPort(.inet, type: .stream), unusedPort(.inet, type: .stream)]
        var options = quickOptions()
        options.concurrency = concurrency
        let ports = [closed[0], open, closed[1], open, closed[0]]
        let results = await TCPScanner.scan(host: loopback(.inet), ports: ports, options: options)
        await server.stop()
        #expect(results.map(\.port) == ports)
        #expect(results.map(\.state) == [.closed, .open, .closed, .open, .closed])
    }

    @Test("a banner that satisfies the expectation is read and matched, with the time to its first byte")
    func bannerMatchesExpectation() async throws {
        let server = try ProbeTestServer.tcp(.inet, .banner(Array("SSH-2.0-Sockpit\r\n".utf8)))
        let port = try server.port
        let results = await TCPScanner.scan(
            host: loopback(.inet), ports: [port], options: quickOptions(expect: starts(with: "SSH-2.0"))
        )
        await server.stop()
        let result = try #require(results.first)
        #expect(result.state == .open && result.expectMatched == true)
        #expect(result.reply == Array("SSH-2.0-Sockpit\r\n".utf8))
        // No upper bound: that would time the machine's load, not the scanner.
        #expect(try #require(result.firstByte) >= .zero)
    }

    @Test("a banner that does not satisfy the expectation leaves the port open with expectMatched false")
    func bannerMismatch() async throws {
        let server = try ProbeTestServer.tcp(.inet6, .banner(Array("220 smtp ready\r\n".utf8)))
        let port = try server.port
        var options = quickOptions(expect: starts(with: "HTTP/1.1"))
        // No match ever comes: the read ends at this deadline, so it is short. The server's thread sends the
        // banner as soon as it accepts, and the probe reads what is queued before it waits.
        options.readTimeout = .seconds(2)
        let results = await TCPScanner.scan(host: loopback(.inet6), ports: [port], options: options)
        await server.stop()
        let result = try #require(results.first)
        #expect(result.state == .open && result.expectMatched == false)
        #expect(result.reply == Array("220 smtp ready\r\n".utf8))
    }

    @Test("readBanner alone reads what the server sends first")
    func readBannerWithoutExpectation() async throws {
        let server = try ProbeTestServer.tcp(.inet, .banner(Array("+OK POP3\r\n".utf8)))
        let port = try server.port
        let results = await TCPScanner.scan(host: loopback(.inet), ports: [port], options: quickOptions(readBanner: true))
        await server.stop()
        let result = try #require(results.first)
        #expect(result.reply == Array("+OK POP3\r\n".utf8) && result.expectMatched == nil && result.firstByte != nil)
    }

    @Test("a payload is sent after the connect and the reply checked against the expectation")
    func payloadAndReply() async throws {
        let server = try ProbeTestServer.tcp(.inet, .echo)
        let port = try server.port
        let options = quickOptions(payload: Array("PING\r\n".utf8), expect: starts(with: "PING\r\n"))
        let results = await TCPScanner.scan(host: loopback(.inet), ports: [port], options: options)
        await server.stop()
        let result = try #require(results.first)
        #expect(result.state == .open && result.expectMatched == true && result.reply == Array("PING\r\n".utf8))
    }

    @Test("open ports are closed with an RST: 300 connects leave no TIME_WAIT behind")
    func noTimeWaitLeftBehind() async throws {
        let server = try ProbeTestServer.tcp(.inet, .silent)
        let port = try server.port
        let results = await TCPScanner.scan(
            host: loopback(.inet), ports: Array(repeating: port, count: 300), options: quickOptions()
        )
        await server.stop()
        #expect(results.allSatisfy { $0.state == .open })
        #expect(try timeWaitCount(towardsPort: port) == 0)
    }

    @Test("a TTL option is applied to the probe sockets without changing the verdict")
    func ttlOption() async throws {
        let server = try ProbeTestServer.tcp(.inet6, .silent)
        let port = try server.port
        var options = quickOptions()
        options.ttl = 3
        let results = await TCPScanner.scan(host: loopback(.inet6), ports: [port], options: options)
        await server.stop()
        #expect(results.first?.state == .open)
    }

    @Test("a cancelled scan returns a result for every port, those it did not probe filtered as ECANCELED")
    func cancelledScan() async throws {
        let scan = Task { await TCPScanner.scan(host: loopback(.inet), ports: Array(1...65535), options: PortProbeOptions()) }
        scan.cancel()
        let results = await scan.value
        #expect(results.count == 65535 && results.map(\.port) == Array(1...65535))
        #expect(results.contains { $0.errno == "ECANCELED" })
        #expect(results.allSatisfy { $0.state != .filtered || $0.errno == "ECANCELED" })
    }

    @Test("a port the service had no descriptor for is untested with its errno, never filtered or closed")
    func shortageLeavesPortUntested() async throws {
        // The window's own rule, with nothing in flight to wait for: what a scan meets when other work holds
        // every descriptor. (A real EMFILE here would starve the other tests of this process.)
        let results = await runProbeWindow(
            ports: [80, 81], indices: stride(from: 0, to: 2, by: 1), window: 4,
            start: { port -> ProbeStart<Int> in port == 80 ? .starved(Errno(rawValue: EMFILE)) : .finished(failedPort(port, .connectionRefused, nil)) },
            finish: { _ in PortResult(port: 0, state: .open) })
        #expect(results.map(\.state) == [.untested, .closed])
        #expect(results[0].errno == "EMFILE" && results[0].rtt == nil)
        for code in [ENFILE, EADDRNOTAVAIL, ENOBUFS] {
            #expect(failedPort(1, Errno(rawValue: code), .milliseconds(1)).state == .untested)
        }
        #expect(failedPort(1, .timedOut, .milliseconds(1)).state == .filtered)
        #expect(failedPort(1, Errno(rawValue: EPERM), .milliseconds(1)).state == .filtered)
    }

    @Test("an empty port list gives no results")
    func emptyPortList() async {
        #expect(await TCPScanner.scan(host: loopback(.inet), ports: [], options: quickOptions()).isEmpty)
    }

    @Test("a whole-range scan of 127.0.0.1 finds the test's listener and prints how long it took")
    func wholeRangeScan() async throws {
        let server = try ProbeTestServer.tcp(.inet, .silent)
        let port = try server.port
        let started = ContinuousClock.now
        let results = await TCPScanner.scan(host: loopback(.inet), ports: Array(1...65535), options: PortProbeOptions())
        let elapsed = ContinuousClock.now - started
        await server.stop()
        #expect(results.count == 65535)
        #expect(results[Int(port) - 1].state == .open)
        #expect(results.allSatisfy { $0.state == .open || ($0.state == .closed && $0.errno == "ECONNREFUSED") })
        let open = results.filter { $0.state == .open }.count
        // A figure for the report, never an assertion: timing depends on the machine and its load.
        print("TCPScanner: 127.0.0.1 ports 1-65535 in \(elapsed) (\(open) open)")
    }

    /// TIME_WAIT sockets (state 06 in /proc/net/tcp) whose remote port is `port`.
    private func timeWaitCount(towardsPort port: UInt16) throws -> Int {
        let fd = try syscall { open("/proc/net/tcp", O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            text += chunk[..<count]
        }
        let remote = String(port, radix: 16, uppercase: true).leftPadded(to: 4)
        return String(decoding: text, as: UTF8.self).split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[2].hasSuffix(":" + remote) && fields[3] == "06"
        }.count
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
