import Glibc
public import SystemPackage

/// A few figures of a TCP connection from the kernel's `struct tcp_info` (`getsockopt(TCP_INFO)`), as `ss -ti` shows them.
///
/// glibc's `<netinet/tcp.h>` declares the struct up to `tcpi_total_retrans`, which covers every field
/// here; the kernel fills in as many bytes as the caller asks for, so a longer kernel struct is fine.
public struct TCPInfo: Sendable, Equatable {
    /// The connection state in lowercase, as the kernel names it without `TCP_` (`"established"`, `"syn_sent"`).
    public var state: String
    /// Smoothed round-trip time, in microseconds (`tcpi_rtt`).
    public var rttMicros: UInt32
    /// Round-trip time variance, in microseconds (`tcpi_rttvar`).
    public var rttVarianceMicros: UInt32
    /// Congestion window, in segments (`tcpi_snd_cwnd`).
    public var sendCongestionWindow: UInt32
    /// Consecutive retransmissions of the current unacknowledged segment (`tcpi_retransmits`).
    public var retransmits: UInt8
    /// Retransmitted segments over the connection's life (`tcpi_total_retrans`).
    public var totalRetransmits: UInt32
    /// Segments currently presumed lost (`tcpi_lost`).
    public var lostPackets: UInt32

    /// Creates figures; ``Socket/tcpInfo()`` is where real ones come from.
    public init(
        state: String, rttMicros: UInt32, rttVarianceMicros: UInt32, sendCongestionWindow: UInt32,
        retransmits: UInt8, totalRetransmits: UInt32, lostPackets: UInt32
    ) {
        self.state = state
        self.rttMicros = rttMicros
        self.rttVarianceMicros = rttVarianceMicros
        self.sendCongestionWindow = sendCongestionWindow
        self.retransmits = retransmits
        self.totalRetransmits = totalRetransmits
        self.lostPackets = lostPackets
    }

    /// Copies the fields Sockpit reports from the C struct.
    init(_ info: tcp_info) {
        self.init(
            state: Self.stateName(info.tcpi_state), rttMicros: info.tcpi_rtt, rttVarianceMicros: info.tcpi_rttvar,
            sendCongestionWindow: info.tcpi_snd_cwnd, retransmits: info.tcpi_retransmits,
            totalRetransmits: info.tcpi_total_retrans, lostPackets: info.tcpi_lost
        )
    }

    /// The lowercase name of a `tcpi_state` value, from the kernel's `include/net/tcp_states.h`.
    ///
    /// A state a newer kernel adds answers `"state <n>"`, which no real name can be mistaken for.
    static func stateName(_ state: UInt8) -> String {
        let index = Int(state)
        return index > 0 && index < stateNames.count ? stateNames[index] : "state \(state)"
    }

    /// Indexed by `TCP_ESTABLISHED` (1) … `TCP_BOUND_INACTIVE` (13); 0 is unused.
    private static let stateNames = [
        "", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close",
        "close_wait", "last_ack", "listen", "closing", "new_syn_recv", "bound_inactive",
    ]
}

extension Socket {
    /// The kernel's figures for this TCP connection (`getsockopt(IPPROTO_TCP, TCP_INFO)`).
    ///
    /// - Throws: the kernel's `Errno` for a socket that is not TCP (`EOPNOTSUPP` on Unix sockets).
    public func tcpInfo() throws(Errno) -> TCPInfo {
        TCPInfo(try getRaw(level: CInt(IPPROTO_TCP), name: CInt(TCP_INFO), as: tcp_info.self))
    }
}
