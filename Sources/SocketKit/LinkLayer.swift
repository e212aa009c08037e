/// A packet socket's address (`sockaddr_ll`): an interface, an Ethernet protocol, and, as the kernel reports them,
/// the hardware type, which way the frame went and the link-layer address (a MAC for Ethernet).
public struct LinkAddress: Hashable, Sendable {
    /// The interface's index (`if_nametoindex`, in the socket's namespace).
    public var interfaceIndex: UInt32
    /// The Ethernet protocol (`ETH_P_*`, host order): 0x0800 IPv4, 0x86dd IPv6, 0x0003 all.
    public var `protocol`: UInt16
    /// `ARPHRD_*`: 1 Ethernet, 772 loopback.
    public var hardwareType: UInt16
    /// `PACKET_*`: 0 to this host, 1 broadcast, 2 multicast, 3 to another host, 4 outgoing.
    public var packetType: UInt8
    /// The link-layer address: the sender's on a receive, the destination's on a send, the interface's own when bound.
    public var address: [UInt8]

    /// Creates an address; a send needs only the interface (and, on a `dgram` socket, the destination's address).
    public init(interfaceIndex: UInt32, protocol: UInt16, hardwareType: UInt16 = 0, packetType: UInt8 = 0, address: [UInt8] = []) {
        self.interfaceIndex = interfaceIndex
        self.protocol = `protocol`
        self.hardwareType = hardwareType
        self.packetType = packetType
        self.address = address
    }

    /// The `PACKET_*` name of ``packetType``: host, broadcast, multicast, otherhost, outgoing; nil for the
    /// kernel-internal ones (loopback, user, kernel), which the API's `PacketType` does not name.
    public var packetTypeName: String? {
        switch packetType {
        case 0: "host"
        case 1: "broadcast"
        case 2: "multicast"
        case 3: "otherhost"
        case 4: "outgoing"
        default: nil
        }
    }

    /// `aa:bb:cc:dd:ee:ff`.
    public static func text(_ address: [UInt8]) -> String {
        address.map(hexByte).joined(separator: ":")
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (1 to 8 bytes, two hex digits each); nil when it is not that.
    public static func bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...8).contains(parts.count) else { return nil }
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        return bytes.count == parts.count ? bytes : nil
    }
}

/// An Ethernet II header (with an 802.1Q tag when there is one), as a raw packet socket receives it before each
/// frame's payload and sends it.
public struct EthernetHeader: Sendable, Equatable {
    /// Destination MAC.
    public var destination: [UInt8]
    /// Source MAC.
    public var source: [UInt8]
    /// The payload's EtherType (the inner one, after a VLAN tag).
    public var etherType: UInt16
    /// The 802.1Q VLAN id and priority, when the frame carries a tag.
    public var vlan: (id: Int, priority: Int)?

    /// A header without a VLAN tag.
    public init(destination: [UInt8], source: [UInt8], etherType: UInt16) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
    }

    /// Reads the header at the start of `frame`; nil when it is shorter than a header.
    public init?(decoding frame: ArraySlice<UInt8>) {
        let start = frame.startIndex
        guard frame.count >= 14 else { return nil }
        func word(_ offset: Int) -> UInt16 { UInt16(frame[start + offset]) << 8 | UInt16(frame[start + offset + 1]) }
        destination = Array(frame[start..<(start + 6)])
        source = Array(frame[(start + 6)..<(start + 12)])
        etherType = word(12)
        if etherType == 0x8100 {
            guard frame.count >= 18 else { return nil }
            let tag = word(14)
            vlan = (Int(tag & 0x0fff), Int(tag >> 13))
            etherType = word(16)
        }
    }

    /// Header bytes: 14, or 18 with a VLAN tag.
    public var length: Int { vlan == nil ? 14 : 18 }

    /// The header's bytes.
    public var encoded: [UInt8] {
        var bytes = destination + source
        if let vlan {
            let tag = UInt16(vlan.priority & 0x7) << 13 | UInt16(vlan.id & 0x0fff)
            bytes += [0x81, 0x00, UInt8(tag >> 8), UInt8(tag & 0xff)]
        }
        return bytes + [UInt8(etherType >> 8), UInt8(etherType & 0xff)]
    }

    public static func == (lhs: EthernetHeader, rhs: EthernetHeader) -> Bool {
        lhs.destination == rhs.destination && lhs.source == rhs.source && lhs.etherType == rhs.etherType
            && lhs.vlan?.id == rhs.vlan?.id && lhs.vlan?.priority == rhs.vlan?.priority
    }
}

/// A byte as two lowercase hex digits (MACs, IP options).
func hexByte(_ byte: UInt8) -> String { (byte < 16 ? "0" : "") + String(byte, radix: 16) }
