import Glibc
import SystemPackage

/// The ICMP and ICMPv6 message types a ping sends, hears back, or is told off with.
///
/// Named here rather than imported: `<netinet/ip_icmp.h>` and `<netinet/icmp6.h>` re-include
/// `<netinet/in.h>`, which the Glibc module owns (see the note in `CLinux/shim.h`).
enum ICMPType {
    /// The corresponding C constant is `ICMP_ECHOREPLY`.
    static let echoReply: UInt8 = 0
    /// The corresponding C constant is `ICMP_DEST_UNREACH`.
    static let destinationUnreachable: UInt8 = 3
    /// The corresponding C constant is `ICMP_ECHO`.
    static let echoRequest: UInt8 = 8
    /// The corresponding C constant is `ICMP_TIME_EXCEEDED`.
    static let timeExceeded: UInt8 = 11
    /// The corresponding C constant is `ICMP_PARAMETERPROB`.
    static let parameterProblem: UInt8 = 12

    /// The corresponding C constant is `ICMP6_DST_UNREACH`.
    static let v6DestinationUnreachable: UInt8 = 1
    /// The corresponding C constant is `ICMP6_PACKET_TOO_BIG`.
    static let v6PacketTooBig: UInt8 = 2
    /// The corresponding C constant is `ICMP6_TIME_EXCEEDED`.
    static let v6TimeExceeded: UInt8 = 3
    /// The corresponding C constant is `ICMP6_PARAM_PROB`.
    static let v6ParameterProblem: UInt8 = 4
    /// The corresponding C constant is `ICMP6_ECHO_REQUEST`.
    static let v6EchoRequest: UInt8 = 128
    /// The corresponding C constant is `ICMP6_ECHO_REPLY`.
    static let v6EchoReply: UInt8 = 129
}

/// What one received ICMP message means to a ping.
enum ICMPMessage: Equatable {
    /// An echo reply; `payloadBytes` excludes the 8-byte ICMP header.
    case echoReply(identifier: UInt16, sequence: UInt16, payloadBytes: Int)
    /// An error about an echo request: the request's identifier and sequence, and where it was going.
    case error(type: UInt8, code: UInt8, identifier: UInt16, sequence: UInt16, destination: [UInt8])
    /// Anything else (our own requests looped back, other traffic).
    case other
}

/// Building and reading ICMP echo packets.
enum ICMPPacket {
    /// The size of an ICMP or ICMPv6 echo header: type, code, checksum, identifier, sequence.
    static let headerSize = 8

    /// An echo request: `payloadSize` pattern bytes after the header, checksummed for IPv4.
    ///
    /// ICMPv6 checksums cover a pseudo-header with addresses only the kernel knows for sure, and Linux
    /// computes them for raw and ping sockets alike; the IPv4 ping socket recomputes ours too.
    static func echoRequest(family: AddressFamily, identifier: UInt16, sequence: UInt16, payloadSize: Int) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: headerSize + payloadSize)
        packet[0] = family == .inet6 ? ICMPType.v6EchoRequest : ICMPType.echoRequest
        packet[4] = UInt8(identifier >> 8)
        packet[5] = UInt8(identifier & 0xff)
        packet[6] = UInt8(sequence >> 8)
        packet[7] = UInt8(sequence & 0xff)
        for index in 0..<payloadSize { packet[headerSize + index] = UInt8(truncatingIfNeeded: index) }
        if family == .inet {
            let sum = checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xff)
        }
        return packet
    }

    /// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        bytes.withUnsafeBytes { raw in
            var index = 0
            while index + 1 < raw.count {
                sum += UInt32(raw[index]) << 8 | UInt32(raw[index + 1])
                index += 2
            }
            if index < raw.count { sum += UInt32(raw[index]) << 8 }
        }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Reads a received packet. `ipHeader` is true for raw IPv4 sockets, which see the IPv4 header
    /// first (its TTL is returned); ICMPv6 and ping sockets deliver the ICMP message alone.
    static func parse(_ bytes: [UInt8], family: AddressFamily, ipHeader: Bool) -> (message: ICMPMessage, ttl: Int?) {
        var offset = 0
        var ttl: Int?
        if ipHeader {
            guard let header = IPv4Header(decoding: bytes[...]) else { return (.other, nil) }
            offset = header.length
            ttl = header.ttl
        }
        guard bytes.count >= offset + headerSize else { return (.other, ttl) }
        let type = bytes[offset]
        let code = bytes[offset + 1]
        let v6 = family == .inet6
        if type == (v6 ? ICMPType.v6EchoReply : ICMPType.echoReply) {
            return (.echoReply(identifier: word(bytes, offset + 4), sequence: word(bytes, offset + 6),
                               payloadBytes: bytes.count - offset - headerSize), ttl)
        }
        let errors = v6
            ? [ICMPType.v6DestinationUnreachable, ICMPType.v6PacketTooBig, ICMPType.v6TimeExceeded, ICMPType.v6ParameterProblem]
            : [ICMPType.destinationUnreachable, ICMPType.timeExceeded, ICMPType.parameterProblem]
        guard errors.contains(type) else { return (.other, ttl) }
        // The offending packet follows the 8-byte header: its IP header, then (at least) 8 bytes of our echo request.
        let inner = offset + headerSize
        let innerICMP: Int
        let destination: [UInt8]
        if v6 {
            guard bytes.count >= inner + 40 + headerSize, bytes[inner + 6] == UInt8(IPPROTO_ICMPV6) else { return (.other, ttl) }
            destination = Array(bytes[(inner + 24)..<(inner + 40)])
            innerICMP = inner + 40
        } else {
            guard bytes.count >= inner + 20, bytes[inner] >> 4 == 4, bytes[inner + 9] == UInt8(IPPROTO_ICMP) else {
                return (.other, ttl)
            }
            destination = Array(bytes[(inner + 16)..<(inner + 20)])
            innerICMP = inner + Int(bytes[inner] & 0x0f) * 4
        }
        guard bytes.count >= innerICMP + headerSize,
              bytes[innerICMP] == (v6 ? ICMPType.v6EchoRequest : ICMPType.echoRequest) else { return (.other, ttl) }
        return (.error(type: type, code: code, identifier: word(bytes, innerICMP + 4),
                       sequence: word(bytes, innerICMP + 6), destination: destination), ttl)
    }

    /// The sequence number of an echo request of ours returned by the error queue (ICMP header first).
    static func sequence(ofRequest bytes: [UInt8]) -> UInt16? {
        bytes.count >= headerSize ? word(bytes, 6) : nil
    }

    /// The errno Linux makes of an ICMP error, as `icmp_err_convert` (net/ipv4/icmp.c) and
    /// `icmpv6_err_convert` (net/ipv6/icmp.c) do, for raw sockets, which get the message itself.
    static func errno(type: UInt8, code: UInt8, family: AddressFamily) -> Errno {
        if family == .inet6 {
            switch type {
            case ICMPType.v6DestinationUnreachable:
                // no route, prohibited, beyond scope, address, port, policy, reject route
                let table: [Errno] = [.networkUnreachable, .permissionDenied, .noRouteToHost, .noRouteToHost,
                                      .connectionRefused, .permissionDenied, .permissionDenied]
                return Int(code) < table.count ? table[Int(code)] : .protocolError
            case ICMPType.v6PacketTooBig: return .messageTooLong
            case ICMPType.v6ParameterProblem: return .protocolError
            default: return .noRouteToHost
            }
        }
        switch type {
        case ICMPType.destinationUnreachable:
            // net, host, protocol, port, fragmentation needed, source route failed, net unknown, host unknown,
            // host isolated, net prohibited, host prohibited, net TOS, host TOS, filtered, precedence, cutoff
            let table: [Errno] = [.networkUnreachable, .noRouteToHost, .protocolNotAvailable, .connectionRefused,
                                  .messageTooLong, .notSupportedOnSocket, .networkUnreachable, .hostIsDown,
                                  Errno(rawValue: ENONET), .networkUnreachable, .noRouteToHost, .networkUnreachable,
                                  .noRouteToHost, .noRouteToHost, .noRouteToHost, .noRouteToHost]
            return Int(code) < table.count ? table[Int(code)] : .noRouteToHost
        case ICMPType.parameterProblem: return .protocolError
        default: return .noRouteToHost  // time exceeded
        }
    }

    /// A big-endian 16-bit word.
    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }
}
