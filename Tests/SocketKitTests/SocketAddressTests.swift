import Glibc
@testable import SocketKit
import Testing

@Suite("Socket addresses")
struct SocketAddressTests {
    /// Encodes to `sockaddr_storage` and decodes again, as a bind/getsockname pair would.
    private func roundTrip(_ address: SocketAddress) throws -> SocketAddress {
        let raw = try SockAddrStorage(address)
        return try SocketAddress(storage: raw.storage, length: raw.length)
    }

    @Test("IPv4 address and port survive sockaddr_storage", arguments: ["127.0.0.1", "0.0.0.0", "192.0.2.200"])
    func ipv4RoundTrips(host: String) throws {
        let address = try SocketAddress(host: host, port: 8080)
        #expect(address == .v4(host: try IPv4Address(host), port: 8080))
        #expect(try roundTrip(address) == address)
        #expect(address.description == "\(host):8080")
    }

    @Test("IPv6 address, port and scope ID survive sockaddr_storage")
    func ipv6WithScopeRoundTrips() throws {
        let address = try SocketAddress(host: "fe80::1%7", port: 443)
        #expect(address == .v6(host: try IPv6Address("fe80::1"), port: 443, scopeID: 7))
        #expect(try roundTrip(address) == address)
        #expect(address.description == "[fe80::1%7]:443")
    }

    @Test("IPv6 text comes back in canonical form")
    func ipv6PrintsCanonically() throws {
        #expect(try IPv6Address("2001:0db8:0:0:0:0:0:0001").description == "2001:db8::1")
        #expect(IPv6Address.loopback.description == "::1")
        #expect(IPv4Address.loopback.description == "127.0.0.1")
    }

    @Test("A scope given as an interface name is resolved to its index")
    func ipv6ScopeByInterfaceName() throws {
        let address = try SocketAddress(host: "fe80::1%lo", port: 1)
        #expect(address == .v6(host: try IPv6Address("fe80::1"), port: 1, scopeID: if_nametoindex("lo")))
        #expect(throws: SocketAddressError.unknownInterface("nosuchif0")) {
            try SocketAddress(host: "fe80::1%nosuchif0", port: 1)
        }
    }

    @Test("Unix path survives sockaddr_storage, its NUL counted in the length")
    func unixPathRoundTrips() throws {
        let address = try SocketAddress(unixPath: "/tmp/sockpit.sock")
        let raw = try SockAddrStorage(address)
        #expect(Int(raw.length) == unixPathOffset + "/tmp/sockpit.sock".utf8.count + 1)
        #expect(try roundTrip(address) == address)
    }

    @Test("Abstract name survives sockaddr_storage without a trailing NUL")
    func abstractNameRoundTrips() throws {
        let address = try SocketAddress(abstractName: "sockpit-test")
        let raw = try SockAddrStorage(address)
        #expect(Int(raw.length) == unixPathOffset + 1 + "sockpit-test".utf8.count)
        #expect(try roundTrip(address) == address)
        #expect(address.description == "@sockpit-test")
    }

    @Test("Netlink port ID and groups survive sockaddr_storage")
    func netlinkRoundTrips() throws {
        #expect(try roundTrip(.netlink(pid: 4242, groups: 0x11)) == .netlink(pid: 4242, groups: 0x11))
    }

    @Test("A 107-byte Unix path fits and a 108-byte one is rejected as too long")
    func overlongUnixPathIsRejected() throws {
        let longest = "/" + String(repeating: "p", count: 106)
        #expect(try roundTrip(try SocketAddress(unixPath: longest)) == .unix(path: longest))
        #expect(throws: SocketAddressError.unixPathTooLong(byteCount: 108)) {
            try SocketAddress(unixPath: longest + "p")
        }
        #expect(throws: SocketAddressError.unixPathTooLong(byteCount: 200)) {
            try SockAddrStorage(.unix(path: String(repeating: "x", count: 200)))
        }
        #expect(throws: SocketAddressError.unixPathTooLong(byteCount: 108)) {
            try SocketAddress(abstractName: String(repeating: "n", count: 108))
        }
    }

    @Test("Hosts that are not numeric addresses are rejected as invalid hosts",
          arguments: ["localhost", "256.1.1.1", "1.2.3", "::g", "", "[::1]", "fe80::1%"])
    func invalidHostIsRejected(host: String) {
        #expect(throws: SocketAddressError.self) { try SocketAddress(host: host, port: 80) }
        if !host.contains("%") {
            #expect(throws: SocketAddressError.invalidHost(host)) { try SocketAddress(host: host, port: 80) }
        }
    }

    @Test("Ports outside 0...65535 are rejected", arguments: [-1, 65536, 1_000_000])
    func portOutOfRangeIsRejected(port: Int) {
        #expect(throws: SocketAddressError.portOutOfRange(port)) { try SocketAddress(host: "127.0.0.1", port: port) }
    }

    @Test("Empty Unix paths and names and paths with NUL are rejected")
    func emptyOrNULUnixAddressesAreRejected() {
        #expect(throws: SocketAddressError.emptyPath) { try SocketAddress(unixPath: "") }
        #expect(throws: SocketAddressError.emptyName) { try SocketAddress(abstractName: "") }
        #expect(throws: SocketAddressError.pathContainsNUL) { try SocketAddress(unixPath: "/tmp/a\0b") }
    }

    @Test("a link-layer address (sockaddr_ll) encodes and decodes: interface, protocol, MAC")
    func linkAddressRoundTrips() throws {
        let link = LinkAddress(interfaceIndex: 7, protocol: 0x88b5, hardwareType: 1, packetType: 1, address: [2, 0, 0, 0, 0, 1])
        let decoded = try SockAddrStorage(SocketAddress.link(link)).address()
        #expect(decoded == .link(link))
        #expect(LinkAddress.text(link.address) == "02:00:00:00:00:01" && LinkAddress.bytes("02:00:00:00:00:01") == link.address)
        #expect(LinkAddress.bytes("2:00") == nil && LinkAddress.bytes("zz") == nil)
        #expect(throws: SocketAddressError.linkAddressTooLong(byteCount: 9)) {
            try SockAddrStorage(SocketAddress.link(LinkAddress(interfaceIndex: 1, protocol: 3, address: Array(repeating: 1, count: 9))))
        }
    }

    @Test("Kernel bytes of an unmodelled family or too short are refused")
    func unsupportedOrTruncatedStorageIsRefused() throws {
        var storage = sockaddr_storage()
        storage.ss_family = sa_family_t(AF_BLUETOOTH)
        #expect(throws: SocketAddressError.unsupportedFamily(AddressFamily(rawValue: AF_BLUETOOTH))) {
            try SocketAddress(storage: storage, length: 20)
        }
        storage.ss_family = sa_family_t(AF_PACKET)
        #expect(throws: SocketAddressError.truncated(family: .packet, length: 8)) {
            try SocketAddress(storage: storage, length: 8)
        }
        storage.ss_family = sa_family_t(AF_INET6)
        #expect(throws: SocketAddressError.truncated(family: .inet6, length: 8)) {
            try SocketAddress(storage: storage, length: 8)
        }
    }
}
