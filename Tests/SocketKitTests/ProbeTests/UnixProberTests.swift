import Glibc
@testable import SocketKit
import SystemPackage
import Testing

@Suite("UnixProber: probes of socket paths")
struct UnixProberTests {
    /// A server bound to `name` in a fresh directory; the caller stops it and removes the directory.
    private func server(
        type: SocketType, _ behaviour: ProbeTestServer.Behaviour, in directory: String, name: String
    ) throws -> ProbeTestServer {
        let socket = try Socket(family: .unix, type: type)
        try socket.bind(to: .unix(path: "\(directory)/\(name)"))
        if type != .dgram { try socket.listen(backlog: 16) }
        return try ProbeTestServer(socket: socket, behaviour: behaviour)
    }

    @Test("a listening path is open, for stream, seqpacket and dgram", arguments: [
        SocketType.stream, .seqpacket, .dgram,
    ])
    func listeningPathIsOpen(type: SocketType) async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["s"]) }
        let server = try server(type: type, .silent, in: directory, name: "s")
        let result = await UnixProber.probe(path: "\(directory)/s", type: type, options: quickOptions())
        await server.stop()
        #expect(result.port == 0 && result.state == .open && result.errno == nil)
        #expect(result.rtt != nil)
    }

    @Test("a socket file with nothing behind it is closed with ECONNREFUSED", arguments: [
        SocketType.stream, .seqpacket, .dgram,
    ])
    func socketFileWithoutListenerIsClosed(type: SocketType) async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["stale"]) }
        // A socket file with no socket behind it, made directly: binding a socket and closing it races with any
        // process a concurrent test spawns, whose child holds every descriptor until its exec (seen once: the
        // probe found the closed socket still bound, and "open").
        #expect(mknod("\(directory)/stale", mode_t(S_IFSOCK | 0o600), 0) == 0, "mknod: \(String(cString: strerror(errno)))")
        let result = await UnixProber.probe(path: "\(directory)/stale", type: type, options: quickOptions())
        #expect(result.state == .closed && result.errno == "ECONNREFUSED")
    }

    @Test("a missing path is closed with ENOENT")
    func missingPathIsENOENT() async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: []) }
        let result = await UnixProber.probe(path: "\(directory)/nothing", type: .stream, options: quickOptions())
        #expect(result.port == 0 && result.state == .closed && result.errno == "ENOENT")
    }

    @Test("a listener of another type answers EPROTOTYPE")
    func wrongTypeIsEPROTOTYPE() async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["s"]) }
        let server = try server(type: .stream, .silent, in: directory, name: "s")
        let result = await UnixProber.probe(path: "\(directory)/s", type: .seqpacket, options: quickOptions())
        await server.stop()
        #expect(result.state == .closed && result.errno == "EPROTOTYPE")
    }

    @Test("relative and over-long paths are refused before any syscall")
    func invalidPaths() async {
        #expect(await UnixProber.probe(path: "relative.sock", type: .stream, options: quickOptions()).errno == "EINVAL")
        let long = "/" + String(repeating: "x", count: 200)
        #expect(await UnixProber.probe(path: long, type: .stream, options: quickOptions()).errno == "ENAMETOOLONG")
    }

    @Test("a stream banner is read and matched against the expectation")
    func streamBanner() async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["s"]) }
        let server = try server(type: .stream, .banner(Array("READY\n".utf8)), in: directory, name: "s")
        let result = await UnixProber.probe(
            path: "\(directory)/s", type: .stream, options: quickOptions(expect: starts(with: "READY"))
        )
        await server.stop()
        #expect(result.state == .open && result.expectMatched == true && result.reply == Array("READY\n".utf8))
        #expect(result.firstByte != nil)
    }

    @Test("a dgram probe with a payload reads the reply from its autobound address")
    func datagramReply() async throws {
        let directory = try makeSocketDirectory()
        defer { removeDirectory(directory, files: ["d"]) }
        let server = try server(type: .dgram, .echo, in: directory, name: "d")
        let result = await UnixProber.probe(
            path: "\(directory)/d", type: .dgram, options: quickOptions(payload: Array("ping".utf8), expect: starts(with: "ping"))
        )
        await server.stop()
        #expect(result.state == .open && result.reply == Array("ping".utf8) && result.expectMatched == true)
    }
}
