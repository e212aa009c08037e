import Glibc
@testable import SocketKit
import SystemPackage
import Testing

@Suite("UDPProber: datagram probes on loopback")
struct UDPProberTests {
    @Test("an echo server's port is open, with the reply, its round trip and its TTL / hop limit", arguments: [
        AddressFamily.inet, .inet6,
    ])
    func echoServerIsOpen(family: AddressFamily) async throws {
        let server = try ProbeTestServer.udp(family, .echo)
        let port = try server.port
        let results = await UDPProber.probe(
            host: loopback(family), ports: [port], options: quickOptions(payload: Array("hello".utf8))
        )
        await server.stop()
        let result = try #require(results.first)
        #expect(result.port == port && result.state == .open && result.errno == nil)
        #expect(result.reply == Array("hello".utf8))
        // No upper bound: the round trip is capped by the timeout already, and a loaded machine stretches it.
        #expect(try #require(result.rtt) > .zero)
        let ttl = try #require(result.ttl)
        #expect((1...255).contains(ttl))
    }

    @Test("the default probe is an empty datagram, and an empty reply still makes the port open")
    func emptyDatagramByDefault() async throws {
        let server = try ProbeTestServer.udp(.inet, .echo)
        let port = try server.port
        let results = await UDPProber.probe(host: loopback(.inet), ports: [port], options: quickOptions())
        await server.stop()
        #expect(results.first?.state == .open)
        #expect(results.first?.reply == [])
    }

    @Test("a port with no socket is closed: loopback answers ICMP port unreachable (ECONNREFUSED)", arguments: [
        AddressFamily.inet, .inet6,
    ])
    func unboundPortIsClosed(family: AddressFamily) async throws {
        let port = try unusedPort(family, type: .dgram)
        let results = await UDPProber.probe(host: loopback(family), ports: [port], options: quickOptions())
        let result = try #require(results.first)
        #expect(result.state == .closed && result.errno == "ECONNREFUSED")
        #expect(result.rtt != nil && result.reply == nil)
    }

    @Test("a socket that never answers is open|filtered once the timeout passes")
    func silentServerIsOpenFiltered() async throws {
        let server = try ProbeTestServer.udp(.inet, .silent)
        let port = try server.port
        var options = quickOptions()
        options.timeout = .milliseconds(200)
        let started = ContinuousClock.now
        let results = await UDPProber.probe(host: loopback(.inet), ports: [port], options: options)
        let elapsed = ContinuousClock.now - started
        await server.stop()
        let result = try #require(results.first)
        #expect(result.state == .openFiltered && result.rtt == nil && result.errno == nil)
        #expect(elapsed >= .milliseconds(200))
    }

    @Test("the expectation is checked against the reply")
    func expectationOnReply() async throws {
        let server = try ProbeTestServer.udp(.inet6, .echo)
        let port = try server.port
        let matching = await UDPProber.probe(
            host: loopback(.inet6), ports: [port], options: quickOptions(payload: Array("abc".utf8), expect: starts(with: "ab"))
        )
        let failing = await UDPProber.probe(
            host: loopback(.inet6), ports: [port], options: quickOptions(payload: Array("abc".utf8), expect: starts(with: "x"))
        )
        await server.stop()
        #expect(matching.first?.expectMatched == true)
        #expect(failing.first?.expectMatched == false && failing.first?.state == .open)
    }

    @Test("several ports at once come back in port order")
    func severalPortsInOrder() async throws {
        let server = try ProbeTestServer.udp(.inet, .echo)
        let open = try server.port
        let closed = try unusedPort(.inet, type: .dgram)
        let ports = [closed, open, closed, open]
        let results = await UDPProber.probe(host: loopback(.inet), ports: ports, options: quickOptions())
        await server.stop()
        #expect(results.map(\.port) == ports)
        #expect(results.map(\.state) == [.closed, .open, .closed, .open])
    }
}
