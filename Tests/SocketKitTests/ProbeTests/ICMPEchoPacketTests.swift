@testable import SocketKit
import Testing

@Suite("ICMPEcho packets: building, checksums and parsing (ProbeTests)")
struct ICMPEchoPacketTests {
    @Test("the Internet checksum matches RFC 1071's worked example, odd lengths included")
    func checksumVectors() {
        // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is its complement.
        #expect(ICMPPacket.checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == ~UInt16(0xddf2))
        #expect(ICMPPacket.checksum([0xff]) == ~UInt16(0xff00))
        #expect(ICMPPacket.checksum([]) == 0xffff)
    }

    @Test("an IPv4 echo request checksums to zero and carries identifier, sequence and payload")
    func ipv4EchoRequest() {
        let packet = ICMPPacket.echoRequest(family: .inet, identifier: 0x1234, sequence: 7, payloadSize: 56)
        #expect(packet.count == 64)
        #expect(Array(packet[0..<2]) == [8, 0])
        #expect(Array(packet[4..<8]) == [0x12, 0x34, 0x00, 0x07])
        #expect(ICMPPacket.checksum(packet) == 0, "a packet with its checksum sums to all ones")
        #expect(ICMPPacket.checksum(ICMPPacket.echoRequest(family: .inet, identifier: 1, sequence: 1, payloadSize: 3)) == 0)
    }

    @Test("an ICMPv6 echo request leaves the checksum to the kernel")
    func ipv6EchoRequest() {
        let packet = ICMPPacket.echoRequest(family: .inet6, identifier: 9, sequence: 300, payloadSize: 0)
        #expect(packet == [128, 0, 0, 0, 0, 9, 0x01, 0x2c])
    }

    @Test("an IPv4 echo reply with its IP header gives identifier, sequence, payload size and TTL")
    func parseIPv4Reply() {
        var packet = ipv4Header(ttl: 61, protocol: 1, destination: [127, 0, 0, 1])
        packet += [0, 0, 0, 0, 0x12, 0x34, 0x00, 0x05] + [UInt8](repeating: 0xab, count: 56)
        let (message, ttl) = ICMPPacket.parse(packet, family: .inet, ipHeader: true)
        #expect(message == .echoReply(identifier: 0x1234, sequence: 5, payloadBytes: 56))
        #expect(ttl == 61)
    }

    @Test("an IPv4 destination unreachable quoting our request names its identifier, sequence and destination")
    func parseIPv4Unreachable() {
        var packet = ipv4Header(ttl: 64, protocol: 1, destination: [10, 0, 0, 1])
        packet += [3, 1, 0, 0, 0, 0, 0, 0]  // host unreachable
        packet += ipv4Header(ttl: 1, protocol: 1, destination: [192, 0, 2, 9])
        packet += [8, 0, 0, 0, 0xbe, 0xef, 0x00, 0x02]
        let (message, _) = ICMPPacket.parse(packet, family: .inet, ipHeader: true)
        #expect(message == .error(type: 3, code: 1, identifier: 0xbeef, sequence: 2, destination: [192, 0, 2, 9]))
        #expect(ICMPPacket.errno(type: 3, code: 1, family: .inet).name == "EHOSTUNREACH")
        #expect(ICMPPacket.errno(type: 3, code: 3, family: .inet).name == "ECONNREFUSED")
        #expect(ICMPPacket.errno(type: 11, code: 0, family: .inet).name == "EHOSTUNREACH")
    }

    @Test("an ICMPv6 time exceeded quoting our request is recognised; our own looped-back request is not a reply")
    func parseIPv6() {
        var inner = [UInt8](repeating: 0, count: 40)
        inner[0] = 0x60
        inner[6] = 58  // next header: ICMPv6
        inner[39] = 1  // destination ::1
        let packet = [3, 0, 0, 0, 0, 0, 0, 0] + inner + [128, 0, 0, 0, 0x00, 0x2a, 0x00, 0x03]
        let (message, ttl) = ICMPPacket.parse(packet, family: .inet6, ipHeader: false)
        let destination = [UInt8](repeating: 0, count: 15) + [1]
        #expect(message == .error(type: 3, code: 0, identifier: 42, sequence: 3, destination: destination))
        #expect(ttl == nil)
        #expect(ICMPPacket.parse([128, 0, 0, 0, 0, 42, 0, 3], family: .inet6, ipHeader: false).message == .other)
        #expect(ICMPPacket.errno(type: 1, code: 4, family: .inet6).name == "ECONNREFUSED")
        #expect(ICMPPacket.errno(type: 1, code: 1, family: .inet6).name == "EACCES")
    }

    @Test("truncated packets parse as nothing rather than trapping")
    func truncated() {
        #expect(ICMPPacket.parse([], family: .inet, ipHeader: true).message == .other)
        #expect(ICMPPacket.parse([0x45] + [UInt8](repeating: 0, count: 22), family: .inet, ipHeader: true).message == .other)
        #expect(ICMPPacket.parse([3, 1, 0, 0, 0, 0, 0, 0, 0x45], family: .inet, ipHeader: false).message == .other)
    }

    /// A 20-byte IPv4 header with the fields the parser reads.
    private func ipv4Header(ttl: UInt8, protocol: UInt8, destination: [UInt8]) -> [UInt8] {
        [0x45, 0, 0, 0, 0, 0, 0, 0, ttl, `protocol`, 0, 0, 127, 0, 0, 1] + destination
    }
}
