import Glibc
@testable import SocketKit
import SystemPackage
import Testing

/// Whether this process may open raw sockets (the test machine runs as root).
private let hasNetRaw = (try? ProcessCapabilities.current().netRaw) ?? false

/// Whether `net.ipv4.ping_group_range` ("low high") admits this process's group to ping sockets.
private func pingGroupAdmitsUs() -> Bool {
    let fd = open("/proc/sys/net/ipv4/ping_group_range", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return false }
    let fields = String(decoding: buffer[..<count], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
    guard fields.count == 2, let low = UInt32(fields[0]), let high = UInt32(fields[1]), low <= high else { return false }
    return (low...high).contains(getgid())
}

@Suite("ICMPEcho: ping over raw and datagram sockets on loopback")
struct ICMPEchoTests {
    private func options(count: Int, interval: Duration = .zero) -> EchoOptions {
        var options = EchoOptions()
        options.count = count
        options.interval = interval
        // Every test here expects its replies, which end the wait at once: long only for a loaded machine.
        options.timeout = .seconds(10)
        return options
    }

    /// Checks a run of replies: every sequence from 1, a positive round trip, TTL and size.
    private func expectReplies(_ results: [EchoResult], count: Int, from host: SocketAddress) throws {
        #expect(results.count == count)
        #expect(results.map(\.sequence) == (1...count).map { UInt16($0) })
        for result in results {
            #expect(result.state == .reply, "sequence \(result.sequence): \(result)")
            // No upper bound: a reply is one by its timeout already, and a loaded machine stretches the time.
            #expect(try #require(result.rtt) > .zero)
            #expect(result.ttl.map { (1...255).contains($0) } == true)
            #expect(result.bytes == 56)
            #expect(result.from == host)
            #expect(result.errno == nil && result.icmpType == nil)
        }
    }

    @Test("as root, raw mode is available for both families", .enabled(if: hasNetRaw))
    func rawModeAvailable() {
        #expect(ICMPEcho.availableMode(for: .inet) == .raw)
        #expect(ICMPEcho.availableMode(for: .inet6) == .raw)
        #expect(ICMPEcho.availableMode(for: .unix) == nil)
    }

    @Test("five raw echoes to 127.0.0.1 and ::1 get five replies", .enabled(if: hasNetRaw), arguments: [
        AddressFamily.inet, .inet6,
    ])
    func fiveRawEchoes(family: AddressFamily) async throws {
        let host = loopback(family)
        let results = try await ICMPEcho.ping(host: host, mode: .raw, options: options(count: 5))
        try expectReplies(results, count: 5, from: host)
        let summary = ICMPEcho.summarize(results)
        #expect(summary.sent == 5 && summary.received == 5 && summary.lossPercent == 0)
        #expect(try #require(summary.rttMin) <= #require(summary.rttAvg))
        #expect(try #require(summary.rttAvg) <= #require(summary.rttMax))
    }

    @Test("echoes sent on an interval are pipelined and all matched", .enabled(if: hasNetRaw))
    func pipelinedEchoes() async throws {
        let started = ContinuousClock.now
        let results = try await ICMPEcho.ping(
            host: loopback(.inet), mode: .raw, options: options(count: 4, interval: .milliseconds(50))
        )
        try expectReplies(results, count: 4, from: loopback(.inet))
        #expect(ContinuousClock.now - started >= .milliseconds(150), "the fourth waits three intervals")
    }

    @Test("concurrent pings to the same host each get exactly their own replies", .enabled(if: hasNetRaw),
          arguments: [AddressFamily.inet, .inet6])
    func concurrentPingsDoNotMix(family: AddressFamily) async throws {
        let host = loopback(family)
        let runs = try await withThrowingTaskGroup(of: [EchoResult].self) { group in
            for _ in 0..<4 {
                group.addTask { try await ICMPEcho.ping(host: host, mode: .raw, options: self.options(count: 5)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(runs.count == 4)
        for results in runs { try expectReplies(results, count: 5, from: host) }
    }

    @Test("a cancelled ping returns at once, the requests it did not finish timed out as ECANCELED", .enabled(if: hasNetRaw))
    func cancelledPing() async throws {
        var slow = options(count: 3, interval: .seconds(30))
        slow.timeout = .seconds(30)
        let started = ContinuousClock.now
        let ping = Task { try await ICMPEcho.ping(host: loopback(.inet), mode: .raw, options: slow) }
        ping.cancel()
        let results = try await ping.value
        // Generous (CI runs every suite in parallel), yet well short of the 30 s an uncancelled ping would wait.
        #expect(ContinuousClock.now - started < .seconds(25))
        #expect(results.map(\.sequence) == [1, 2, 3])
        #expect(results[0].state == .reply || results[0].errno == "ECANCELED")
        #expect(results[1...].allSatisfy { $0.state == .timeout && $0.errno == "ECANCELED" })
    }

    @Test("datagram mode works where ping_group_range admits us, and fails with EACCES where it does not",
          arguments: [AddressFamily.inet, .inet6])
    func datagramModeFollowsPingGroupRange(family: AddressFamily) async throws {
        if pingGroupAdmitsUs() {
            let results = try await ICMPEcho.ping(host: loopback(family), mode: .datagram, options: options(count: 3))
            try expectReplies(results, count: 3, from: loopback(family))
        } else {
            await #expect(throws: Errno.permissionDenied) {
                try await ICMPEcho.ping(host: loopback(family), mode: .datagram, options: options(count: 3))
            }
            if !hasNetRaw { #expect(ICMPEcho.availableMode(for: family) == nil) }
        }
    }

    @Test("bad arguments are EINVAL, a non-IP host EAFNOSUPPORT, and a count of 0 sends nothing")
    func argumentChecks() async throws {
        var bad = options(count: 1)
        bad.size = -1
        await #expect(throws: Errno.invalidArgument) { try await ICMPEcho.ping(host: loopback(.inet), mode: .raw, options: bad) }
        bad = options(count: 1)
        bad.ttl = 0
        await #expect(throws: Errno.invalidArgument) { try await ICMPEcho.ping(host: loopback(.inet), mode: .raw, options: bad) }
        await #expect(throws: Errno.addressFamilyNotSupported) {
            try await ICMPEcho.ping(host: .unix(path: "/tmp/x"), mode: .raw, options: options(count: 1))
        }
        #expect(try await ICMPEcho.ping(host: loopback(.inet), mode: .raw, options: options(count: 0)).isEmpty)
    }

    @Test("summaries count losses and compute ping's statistics")
    func summary() {
        let results = [
            EchoResult(sequence: 1, state: .reply, rtt: .milliseconds(1), bytes: 56),
            EchoResult(sequence: 2, state: .timeout),
            EchoResult(sequence: 3, state: .reply, rtt: .milliseconds(3), bytes: 56),
            EchoResult(sequence: 4, state: .unreachable, rtt: .milliseconds(2), errno: "EHOSTUNREACH", icmpType: 3, icmpCode: 1),
        ]
        let summary = ICMPEcho.summarize(results)
        #expect(summary.sent == 4 && summary.received == 2 && summary.lossPercent == 50)
        #expect(summary.rttMin == .milliseconds(1) && summary.rttMax == .milliseconds(3))
        let average = try! #require(summary.rttAvg)
        let deviation = try! #require(summary.rttMdev)
        #expect(abs(Double(average.components.attoseconds) / 1e15 - 2) < 1e-6)
        #expect(abs(Double(deviation.components.attoseconds) / 1e15 - 1) < 1e-6)
        let none = ICMPEcho.summarize([])
        #expect(none.sent == 0 && none.lossPercent == 0 && none.rttAvg == nil)
    }
}
