/// A test of reply bytes ("expect"). `begin` starts reading one reply and gives the function to feed it with:
/// each call takes the bytes that arrived since the last one and answers true once the reply so far satisfies
/// the test. A reply read in pieces is so read once, however many pieces it comes in.
public struct ByteMatcher: Sendable {
    /// Starts one reply.
    public let begin: @Sendable () -> (ArraySlice<UInt8>) -> Bool

    /// A matcher from its per-reply start.
    public init(begin: @escaping @Sendable () -> (ArraySlice<UInt8>) -> Bool) {
        self.begin = begin
    }

    /// Whether a whole reply satisfies the test.
    public func matches(_ bytes: [UInt8]) -> Bool { begin()(bytes[...]) }
}

/// What a port probe concluded, in nmap's words.
public enum PortState: String, Sendable {
    /// Something answered: a TCP connect succeeded, a UDP reply came back, a Unix socket accepted.
    case open
    /// The host answered that nothing listens: a TCP RST (`ECONNREFUSED`), an ICMP port unreachable.
    case closed
    /// No answer before the timeout, or a network error (`EHOSTUNREACH`, `ENETUNREACH`) in the way.
    case filtered
    /// UDP only: nothing came back, which an open port that ignores the probe and a firewall both do.
    case openFiltered = "open|filtered"
    /// The service could not test it: it ran out of descriptors, local ports or buffers (`EMFILE`, `ENFILE`,
    /// `EADDRNOTAVAIL`, `ENOBUFS`; errno says which) with none of the probe's own sockets in flight to wait for.
    /// Says nothing about the target.
    case untested
}

/// The verdict on one port (or one Unix path, as port 0) and what was seen on the way.
public struct PortResult: Sendable, Equatable {
    /// The port probed; 0 for a Unix path.
    public var port: UInt16
    /// The verdict.
    public var state: PortState
    /// Connect time (TCP, Unix) or reply time (UDP) when there was an answer, refusals included.
    public var rtt: Duration?
    /// The errno name behind a non-open verdict (`ECONNREFUSED`, `EHOSTUNREACH`, `ETIMEDOUT`).
    public var errno: String?
    /// Banner or reply bytes read, at most 4096.
    public var reply: [UInt8]?
    /// From connect to the first reply byte (TCP and Unix streams with a payload, banner or expectation).
    public var firstByte: Duration?
    /// Whether the reply satisfied ``PortProbeOptions/expect``; nil when there was no expectation.
    public var expectMatched: Bool?
    /// TTL / hop limit of a UDP reply (`IP_RECVTTL` / `IPV6_RECVHOPLIMIT`); nil when there was none.
    public var ttl: Int?

    /// Creates a result; real ones come from the probes.
    public init(
        port: UInt16, state: PortState, rtt: Duration? = nil, errno: String? = nil, reply: [UInt8]? = nil,
        firstByte: Duration? = nil, expectMatched: Bool? = nil, ttl: Int? = nil
    ) {
        self.port = port
        self.state = state
        self.rtt = rtt
        self.errno = errno
        self.reply = reply
        self.firstByte = firstByte
        self.expectMatched = expectMatched
        self.ttl = ttl
    }
}

/// How ports are probed (TCP, UDP, Unix).
public struct PortProbeOptions: Sendable {
    /// Per port: the connect (TCP, Unix) or the wait for a reply (UDP).
    public var timeout: Duration = .seconds(1)
    /// Ports in flight at once (at least 1).
    public var concurrency: Int = 512
    /// Sent after the connect (TCP, Unix streams) or as the datagram (UDP, Unix dgram; default: empty).
    public var payload: [UInt8]? = nil
    /// TCP and Unix: read until it matches, end of file, 4096 bytes or ``readTimeout``. UDP: tested on the reply.
    public var expect: ByteMatcher? = nil
    /// TCP and Unix: read what the server sends first, up to ``readTimeout``.
    public var readBanner: Bool = false
    /// How long reading a banner or a reply may take, from the connect.
    public var readTimeout: Duration = .seconds(1)
    /// `IP_TTL` / `IPV6_UNICAST_HOPS` on the probe sockets; nil keeps the system default.
    public var ttl: Int? = nil
    /// The network namespace the probe sockets are made in; nil: this process's own.
    public var namespace: NetworkNamespace? = nil

    /// The defaults: 1 s timeouts, 512 in flight, no payload, no reading.
    public init() {}

    /// Whether a connected stream is read from after the connect.
    var readsReply: Bool { payload != nil || expect != nil || readBanner }
}

/// The most reply bytes any probe keeps.
let probeReplyLimit = 4096

extension SocketAddress {
    /// The same host with another port; other kinds of address are returned unchanged.
    public func withPort(_ port: UInt16) -> SocketAddress {
        switch self {
        case .v4(let host, _): .v4(host: host, port: port)
        case .v6(let host, _, let scopeID): .v6(host: host, port: port, scopeID: scopeID)
        case .unix, .abstract, .netlink, .link: self
        }
    }
}

/// How one echo request ended.
public enum EchoState: String, Sendable {
    /// The echo reply came back.
    case reply
    /// Nothing came back before ``EchoOptions/timeout``.
    case timeout
    /// An ICMP error (destination unreachable, time exceeded, …) came back for it, or sending failed.
    case unreachable
}

/// One echo request and what came of it.
public struct EchoResult: Sendable, Equatable {
    /// The request's sequence number (1 for the first).
    public var sequence: UInt16
    /// How it ended.
    public var state: EchoState
    /// From sending to the reply or error (the kernel's receive time when available).
    public var rtt: Duration?
    /// TTL / hop limit of the reply or error as it arrived.
    public var ttl: Int?
    /// ICMP payload bytes received (without the 8-byte ICMP header); 0 without a reply.
    public var bytes: Int
    /// Who answered: the host, or the router that sent the error.
    public var from: SocketAddress?
    /// The errno name of an unreachable verdict (`EHOSTUNREACH`, `ENETUNREACH`, `ECONNREFUSED`, `EPERM`).
    public var errno: String?
    /// The ICMP / ICMPv6 type of an error message (3 destination unreachable, 11 time exceeded, …).
    public var icmpType: Int?
    /// The ICMP / ICMPv6 code of an error message (1 host unreachable, 3 port unreachable, …).
    public var icmpCode: Int?

    /// Creates a result; real ones come from ``ICMPEcho/ping(host:mode:options:)``.
    public init(
        sequence: UInt16, state: EchoState, rtt: Duration? = nil, ttl: Int? = nil, bytes: Int = 0,
        from: SocketAddress? = nil, errno: String? = nil, icmpType: Int? = nil, icmpCode: Int? = nil
    ) {
        self.sequence = sequence
        self.state = state
        self.rtt = rtt
        self.ttl = ttl
        self.bytes = bytes
        self.from = from
        self.errno = errno
        self.icmpType = icmpType
        self.icmpCode = icmpCode
    }
}

/// Which kind of ICMP socket sends the echoes.
public enum ICMPMode: String, Sendable {
    /// `SOCK_RAW`: needs `CAP_NET_RAW`; sees every ICMP message the host receives.
    case raw
    /// The unprivileged "ping" socket (`SOCK_DGRAM`, `IPPROTO_ICMP` / `IPPROTO_ICMPV6`), allowed for the
    /// groups in `net.ipv4.ping_group_range`; the kernel picks the identifier and routes replies.
    case datagram
}

/// How a ping runs.
public struct EchoOptions: Sendable {
    /// Echo requests to send.
    public var count: Int = 1
    /// Between sends; zero sends the next as soon as the previous one is answered or timed out.
    public var interval: Duration = .seconds(1)
    /// Per echo, from its send.
    public var timeout: Duration = .seconds(1)
    /// Payload bytes after the ICMP header (ping's default 56 makes 64-byte ICMP messages).
    public var size: Int = 56
    /// TTL / hop limit of the requests; nil keeps the system default.
    public var ttl: Int? = nil
    /// The network namespace the echo socket is made in; nil: this process's own.
    public var namespace: NetworkNamespace? = nil

    /// One 56-byte echo with a 1 s timeout.
    public init() {}
}

/// The summary line of `ping`.
public struct EchoSummary: Sendable, Equatable {
    /// Echo requests sent (or attempted).
    public var sent: Int
    /// Echo replies received.
    public var received: Int
    /// `(sent - received) / sent` in percent; 0 when nothing was sent.
    public var lossPercent: Double
    /// The shortest round trip of the replies; nil without replies.
    public var rttMin: Duration?
    /// The mean round trip of the replies; nil without replies.
    public var rttAvg: Duration?
    /// The longest round trip of the replies; nil without replies.
    public var rttMax: Duration?
    /// ping's "mdev", `sqrt(mean(rtt²) - mean(rtt)²)`; nil without replies.
    public var rttMdev: Duration?

    /// Creates a summary; ``ICMPEcho/summarize(_:)`` computes real ones.
    public init(
        sent: Int, received: Int, lossPercent: Double, rttMin: Duration?, rttAvg: Duration?, rttMax: Duration?,
        rttMdev: Duration?
    ) {
        self.sent = sent
        self.received = received
        self.lossPercent = lossPercent
        self.rttMin = rttMin
        self.rttAvg = rttAvg
        self.rttMax = rttMax
        self.rttMdev = rttMdev
    }
}
