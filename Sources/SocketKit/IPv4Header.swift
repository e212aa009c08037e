/// An IPv4 header (RFC 791), as a raw socket receives it before each packet and, with `IP_HDRINCL`, sends it.
public struct IPv4Header: Sendable, Equatable {
    /// 4.
    public var version = 4
    /// Header length in 32-bit words (5 without options).
    public var ihl = 5
    /// Type of service / DSCP and ECN.
    public var tos = 0
    /// Total length of the packet, header included.
    public var totalLength = 0
    /// Identification (for fragments); 0 on a send lets the kernel choose.
    public var identification = 0
    /// Don't fragment.
    public var dontFragment = false
    /// More fragments.
    public var moreFragments = false
    /// Where this fragment's data sits in the datagram, in 8-byte units.
    public var fragmentOffset = 0
    /// Time to live.
    public var ttl = 64
    /// The payload's protocol number.
    public var `protocol` = 0
    /// Header checksum as it was on the wire (computed on a send).
    public var checksum = 0
    /// Source; `0.0.0.0` on a send lets the kernel fill in the outgoing interface's address.
    public var source: IPv4Address = .any
    /// Destination.
    public var destination: IPv4Address = .any
    /// Options bytes (after the 20 fixed ones), as received.
    public var options: [UInt8] = []

    /// A header with the defaults above: 20 bytes, TTL 64, kernel-chosen id and source.
    public init() {}

    /// Reads the header at the start of `bytes`; nil when they do not start with a whole IPv4 header.
    public init?(decoding bytes: ArraySlice<UInt8>) {
        let start = bytes.startIndex
        guard bytes.count >= 20, bytes[start] >> 4 == 4 else { return nil }
        let ihl = Int(bytes[start] & 0x0f)
        guard ihl >= 5, bytes.count >= ihl * 4 else { return nil }
        func word(_ offset: Int) -> Int { Int(bytes[start + offset]) << 8 | Int(bytes[start + offset + 1]) }
        func address(_ offset: Int) -> IPv4Address {
            let value = UInt32(bytes[start + offset]) << 24 | UInt32(bytes[start + offset + 1]) << 16
                | UInt32(bytes[start + offset + 2]) << 8 | UInt32(bytes[start + offset + 3])
            return IPv4Address(networkOrder: value.bigEndian)
        }
        self.ihl = ihl
        tos = Int(bytes[start + 1])
        totalLength = word(2)
        identification = word(4)
        let flags = word(6)
        dontFragment = flags & 0x4000 != 0
        moreFragments = flags & 0x2000 != 0
        fragmentOffset = flags & 0x1fff
        ttl = Int(bytes[start + 8])
        `protocol` = Int(bytes[start + 9])
        checksum = word(10)
        source = address(12)
        destination = address(16)
        options = Array(bytes[(start + 20)..<(start + ihl * 4)])
    }

    /// The header's length in bytes.
    public var length: Int { ihl * 4 }

    /// The options bytes in lowercase hex, two digits each; empty when there are none.
    public var optionsHex: String { options.map(hexByte).joined() }

    /// The 20-byte header (no options) for a payload of `payloadLength` bytes: total length and checksum
    /// computed here (the kernel fills them in again for `IP_HDRINCL`, as raw(7) says).
    public func encoded(payloadLength: Int) -> [UInt8] {
        let total = 20 + payloadLength
        let flags = (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (fragmentOffset & 0x1fff)
        var bytes: [UInt8] = [
            0x45, UInt8(tos & 0xff), UInt8(total >> 8 & 0xff), UInt8(total & 0xff),
            UInt8(identification >> 8 & 0xff), UInt8(identification & 0xff), UInt8(flags >> 8), UInt8(flags & 0xff),
            UInt8(ttl & 0xff), UInt8(`protocol` & 0xff), 0, 0,
        ]
        for address in [source, destination] {
            let value = UInt32(bigEndian: address.networkOrder)
            bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
        }
        let sum = ICMPPacket.checksum(bytes)
        bytes[10] = UInt8(sum >> 8)
        bytes[11] = UInt8(sum & 0xff)
        return bytes
    }
}
