import SockpitCore

extension APIHandler {
    /// The PATCH body as (option, value) pairs in the schema's order, with the ranges the schema documents
    /// checked here (the generated code does not check `minimum`/`maximum`).
    static func options(_ patch: Components.Schemas.SocketOptionsPatch) throws -> [(SocketOption, SocketOptionValue)] {
        var list: [(SocketOption, SocketOptionValue)] = []
        func flag(_ option: SocketOption, _ value: Bool?) {
            if let value { list.append((option, .bool(value))) }
        }
        func number(_ option: SocketOption, _ value: Int?, _ range: ClosedRange<Int>) throws {
            guard let value else { return }
            guard range.contains(value) else {
                throw APIProblem.validation("\(option.rawValue) must be between \(range.lowerBound) and \(range.upperBound), got \(value)",
                                            field: option.rawValue)
            }
            list.append((option, .int(value)))
        }
        flag(.so_reuseaddr, patch.soReuseaddr)
        flag(.so_reuseport, patch.soReuseport)
        flag(.so_keepalive, patch.soKeepalive)
        flag(.so_broadcast, patch.soBroadcast)
        try number(.so_rcvbuf, patch.soRcvbuf, 0...Int(Int32.max))
        try number(.so_sndbuf, patch.soSndbuf, 0...Int(Int32.max))
        if let linger = patch.soLinger?.value1 {
            guard (0...65535).contains(linger.seconds) else {
                throw APIProblem.validation("so_linger.seconds must be between 0 and 65535, got \(linger.seconds)", field: "so_linger.seconds")
            }
            list.append((.so_linger, .linger(enabled: linger.enabled, seconds: linger.seconds)))
        }
        flag(.so_oobinline, patch.soOobinline)
        flag(.tcp_nodelay, patch.tcpNodelay)
        try number(.tcp_keepidle, patch.tcpKeepidle, 1...32767)
        try number(.tcp_keepintvl, patch.tcpKeepintvl, 1...32767)
        try number(.tcp_keepcnt, patch.tcpKeepcnt, 1...127)
        try number(.ip_ttl, patch.ipTtl, 1...255)
        try number(.ip_tos, patch.ipTos, 0...255)
        flag(.ipv6_v6only, patch.ipv6V6only)
        flag(.so_passcred, patch.soPasscred)
        flag(.so_timestampns, patch.soTimestampns)
        flag(.ip_pktinfo, patch.ipPktinfo)
        flag(.ip_recvttl, patch.ipRecvttl)
        flag(.ipv6_recvpktinfo, patch.ipv6Recvpktinfo)
        flag(.ipv6_recvhoplimit, patch.ipv6Recvhoplimit)
        return list
    }

    /// The kernel's current values in the API schema.
    static func options(_ report: SocketOptionsReport) -> Components.Schemas.SocketOptions {
        func bool(_ option: SocketOption) -> Bool? {
            if case .bool(let value)? = report.values[option] { return value }
            return nil
        }
        func int(_ option: SocketOption) -> Int? {
            if case .int(let value)? = report.values[option] { return value }
            return nil
        }
        var linger: Components.Schemas.Linger?
        if case .linger(let enabled, let seconds)? = report.values[.so_linger] { linger = .init(enabled: enabled, seconds: seconds) }
        var soError: String?
        if case .errno(let name)? = report.values[.so_error] { soError = name }
        var soType: String?
        if case .socketType(let name)? = report.values[.so_type] { soType = name }
        let tcpInfo = report.tcpInfo.map { info in
            Components.Schemas.TCPInfo(
                state: info.state, rttUs: Int64(info.rttMicros), rttvarUs: Int64(info.rttVarianceMicros),
                cwnd: Int64(info.sendCongestionWindow), retransmits: Int(info.retransmits),
                totalRetransmits: Int64(info.totalRetransmits))
        }
        return .init(
            soReuseaddr: bool(.so_reuseaddr), soReuseport: bool(.so_reuseport), soKeepalive: bool(.so_keepalive),
            soBroadcast: bool(.so_broadcast), soRcvbuf: int(.so_rcvbuf), soSndbuf: int(.so_sndbuf), soLinger: linger,
            soOobinline: bool(.so_oobinline), tcpNodelay: bool(.tcp_nodelay), tcpKeepidle: int(.tcp_keepidle),
            tcpKeepintvl: int(.tcp_keepintvl), tcpKeepcnt: int(.tcp_keepcnt), ipTtl: int(.ip_ttl), ipTos: int(.ip_tos),
            ipv6V6only: bool(.ipv6_v6only), soPasscred: bool(.so_passcred), soTimestampns: bool(.so_timestampns),
            ipPktinfo: bool(.ip_pktinfo), ipRecvttl: bool(.ip_recvttl), ipv6Recvpktinfo: bool(.ipv6_recvpktinfo),
            ipv6Recvhoplimit: bool(.ipv6_recvhoplimit), soError: soError, soType: soType, soAcceptconn: bool(.so_acceptconn),
            tcpInfo: tcpInfo)
    }
}
