import Glibc
import SocketKit
import Testing

@Suite("Capability probe")
struct CapabilityProbeTests {
    private func entry(_ results: [SocketKindSupport], _ family: String, _ type: String, _ proto: String) -> SocketKindSupport? {
        results.first { $0.family == family && $0.type == type && $0.protocol == proto }
    }

    @Test("The probe reports every literature kind, with TCP, UDP, Unix and netlink route supported here")
    func commonKindsAreSupported() throws {
        let results = CapabilityProbe.run()
        #expect(results.count == CapabilityProbe.kinds.count)
        for (family, type, proto) in [
            ("inet", "stream", "tcp"), ("inet", "dgram", "udp"), ("inet6", "stream", "tcp"),
            ("unix", "stream", "default"), ("unix", "dgram", "default"), ("unix", "seqpacket", "default"),
            ("netlink", "raw", "route"),
        ] {
            let found = try #require(entry(results, family, type, proto), "\(family)/\(type)/\(proto) missing")
            #expect(found.supported, "\(family)/\(type)/\(proto): \(found.errno ?? "")")
        }
        for kind in ["sctp", "dccp"] {
            #expect(entry(results, "inet", kind == "sctp" ? "stream" : "dccp", kind) != nil)
        }
    }

    @Test("Supported kinds carry no errno; unsupported ones always carry an errno name and message")
    func unsupportedKindsCarryErrno() {
        for result in CapabilityProbe.run() {
            if result.supported {
                #expect(result.errno == nil && result.message == nil)
            } else {
                let name = result.errno ?? ""
                #expect(name.hasPrefix("E") && name == name.uppercased(), "\(result)")
                #expect(!(result.message ?? "").isEmpty, "\(result)")
            }
        }
    }

    @Test("Raw sockets open as root, as CAP_NET_RAW says they should")
    func rawSocketsFollowCapNetRaw() throws {
        let capabilities = try ProcessCapabilities.current()
        try #require(capabilities.netRaw, "needs CAP_NET_RAW")
        #expect(CapabilityProbe.probe(family: .inet, type: .raw, protocol: .icmp).supported)
        #expect(CapabilityProbe.probe(family: .packet, type: .raw, protocol: .packetAll).supported)
    }

    @Test("CapEff is parsed from /proc status text into NET_RAW (bit 13) and NET_ADMIN (bit 12)")
    func capEffIsParsed() throws {
        let root = try #require(ProcessCapabilities(procStatus: "Name:\tx\nCapInh:\t0\nCapEff:\t000001fffeffffff\n"))
        #expect(root.effective == 0x1ff_feff_ffff && root.netRaw && root.netAdmin)
        let rawOnly = try #require(ProcessCapabilities(procStatus: "CapEff:\t0000000000002000\n"))
        #expect(rawOnly.netRaw && !rawOnly.netAdmin)
        #expect(ProcessCapabilities(procStatus: "Name:\tx\n") == nil)
        let current = try ProcessCapabilities.current()
        #expect(getuid() != 0 || current.netAdmin, "root holds CAP_NET_ADMIN unless dropped")
    }

    @Test("Constants round-trip through their API names")
    func apiNamesParse() {
        for family in AddressFamily.allNamed {
            #expect(AddressFamily(name: family.name) == family)
            for (name, value) in SocketProtocol.names(in: family) {
                #expect(SocketProtocol(name: name, in: family) == value)
                #expect(value.name(in: family) == name)
            }
        }
        for type in SocketType.allNamed { #expect(SocketType(name: type.name) == type) }
        #expect(SocketProtocol(name: "sock_diag", in: .netlink)?.rawValue == 4)
        #expect(SocketProtocol(name: "sock_diag", in: .inet) == nil)
        #expect(SocketProtocol.default.name(in: .netlink) == "route")
        #expect(SocketProtocol.dccp.rawValue == 33 && SocketType.dccp.rawValue == 6)
        #expect(SocketProtocol.packetAll.rawValue == 0x0300)
        #expect(AddressFamily(name: "INET") == nil && AddressFamily(rawValue: 99).name == "99")
    }
}
