import Glibc
import NamespaceRig
import SocketKit
import SystemPackage
import Testing

@Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
struct NetworkNamespaceTests {
    @Test("a socket made through a namespace is in it (SIOCGSKNS); one made without is in the process's own")
    func socketsAreMadeWhereAsked() async throws {
        try await NamespaceRig.with(hosts: 2) { rig in
            let a = try NetworkNamespace(name: rig.hosts[0].name), b = try NetworkNamespace(name: rig.hosts[1].name)
            let own = try NetworkNamespace.processInode()
            #expect(a.inode != b.inode && a.inode != own)
            for _ in 0..<50 {
                let inA = try Socket.make(family: .inet, type: .dgram, in: a)
                let here = try Socket.make(family: .inet, type: .dgram, in: nil)
                let inB = try Socket.make(family: .inet6, type: .stream, protocol: .tcp, in: b)
                defer { try? inA.close(); try? here.close(); try? inB.close() }
                #expect(try inA.namespaceInode() == a.inode)
                #expect(try inB.namespaceInode() == b.inode)
                #expect(try here.namespaceInode() == own)
            }
            // A socket in a reaches b over the bridge: a datagram from 10.99.0.1 to 10.99.0.2.
            let receiver = try Socket.make(family: .inet, type: .dgram, in: b)
            let sender = try Socket.make(family: .inet, type: .dgram, in: a)
            defer { try? receiver.close(); try? sender.close() }
            try receiver.bind(to: try SocketAddress(host: rig.hosts[1].ipv4, port: 0))
            _ = try sender.send(Array("over the bridge".utf8)[...], to: try receiver.localAddress(), flags: [])
            _ = try await receiver.wait(for: .readable, until: .now + .seconds(5))
            let message = try #require(try receiver.receive(maxBytes: 64, flags: []))
            #expect(message.bytes == Array("over the bridge".utf8))
            let expected = try SocketAddress(host: rig.hosts[0].ipv4, port: Int(try sender.localAddress().port ?? 0))
            #expect(message.from == expected)
            #expect(NetworkNamespace.names().contains(rig.hosts[0].name))
        }
    }

    @Test("bad names are EINVAL, unknown ones ENOENT, a file that is no namespace EINVAL")
    func badNamesAreRefused() throws {
        for name in ["", ".", "..", "a/b"] {
            #expect(throws: Errno.invalidArgument) { try NetworkNamespace(name: name) }
        }
        #expect(throws: Errno.noSuchFileOrDirectory) { try NetworkNamespace(name: "sockpit-no-such-namespace-\(getpid())") }
        // A plain file where a namespace's name would be (what an interrupted `ip netns add` can leave).
        let name = "sockpit-not-a-namespace-\(getpid())"
        _ = mkdir(NetworkNamespace.directory, 0o755)
        let fd = open("\(NetworkNamespace.directory)/\(name)", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)
        defer { unlink("\(NetworkNamespace.directory)/\(name)") }
        #expect(throws: Errno.invalidArgument) { try NetworkNamespace(name: name) }
    }
}
