import SockpitCore
import SockpitContract

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
        try number(.ip_multicast_ttl, patch.ipMulticastTtl, 0...255)
        flag(.ip_multicast_loop, patch.ipMulticastLoop)
        flag(.ip_multicast_all, patch.ipMulticastAll)
        if let choice = patch.ipMulticastIf?.value1 { list.append((.ip_multicast_if, .interface(try interface(choice, field: "ip_multicast_if")))) }
        try number(.ipv6_multicast_hops, patch.ipv6MulticastHops, -1...255)
        flag(.ipv6_multicast_loop, patch.ipv6MulticastLoop)
        if let choice = patch.ipv6MulticastIf?.value1 {
            list.append((.ipv6_multicast_if, .interface(try interface(choice, field: "ipv6_multicast_if"))))
        }
        if let name = patch.soBindtodevice {
            guard name.utf8.count <= 15, !name.contains("/"), !name.unicodeScalars.contains(where: { $0.value < 0x21 || $0 == ":" }) else {
                throw APIProblem.validation("so_bindtodevice must be an interface name (at most 15 bytes, no space, '/' or ':'), got '\(name)'",
                                            field: "so_bindtodevice")
            }
            list.append((.so_bindtodevice, .device(name)))
        }
        flag(.ip_hdrincl, patch.ipHdrincl)
        if let types = patch.icmpFilter {
            guard types.count <= 32, types.allSatisfy({ (0...31).contains($0) }) else {
                throw APIProblem.validation("icmp_filter lists at most 32 ICMP types, each 0 to 31", field: "icmp_filter")
            }
            list.append((.icmp_filter, .icmpTypes(Array(Set(types)).sorted())))
        }
        if let offset = patch.ipv6Checksum {
            guard offset == -1 || (0...65534).contains(offset) && offset % 2 == 0 else {
                throw APIProblem.validation("ipv6_checksum must be -1 or an even offset from 0 to 65534, got \(offset)", field: "ipv6_checksum")
            }
            list.append((.ipv6_checksum, .int(offset)))
        }
        for (option, request) in [(SocketOption.ip_add_membership, patch.ipAddMembership?.value1),
                                  (.ip_drop_membership, patch.ipDropMembership?.value1),
                                  (.ipv6_join_group, patch.ipv6JoinGroup?.value1), (.ipv6_leave_group, patch.ipv6LeaveGroup?.value1)] {
            guard let request else { continue }
            list.append((option, .membership(try membership(request, field: option.rawValue, ipv6: option.rawValue.hasPrefix("ipv6")))))
        }
        return list
    }

    /// An `InterfaceRef` as the kernel takes it: at most one of name, index and address.
    private static func interface(_ ref: Components.Schemas.InterfaceRef, field: String) throws -> InterfaceChoice {
        let given = [ref.name != nil, ref.index != nil, ref.address != nil].filter { $0 }.count
        guard given <= 1 else {
            throw APIProblem.validation("\(field) names an interface by at most one of name, index and address", field: field)
        }
        if let name = ref.name {
            guard name.utf8.count <= 15, !name.isEmpty, !name.contains("/"), !name.unicodeScalars.contains(where: { $0.value < 0x21 || $0 == ":" }) else {
                throw APIProblem.validation("\(field).name must be an interface name (1 to 15 bytes, no space, '/' or ':')", field: "\(field).name")
            }
            return .name(name)
        }
        if let index = ref.index {
            guard let index = UInt32(exactly: index), index > 0 else {
                throw APIProblem.validation("\(field).index must be between 1 and 4294967295", field: "\(field).index")
            }
            return .index(index)
        }
        if let text = ref.address {
            guard let address = try? IPv4Address(text) else {
                throw APIProblem.validation("\(field).address must be an IPv4 address, got '\(text)'", field: "\(field).address")
            }
            return .address(address)
        }
        return .any
    }

    /// A `MembershipRequest`: a multicast group of the option's family, on an interface.
    private static func membership(_ request: Components.Schemas.MembershipRequest, field: String, ipv6: Bool) throws -> Membership {
        guard let group = try? IPAddress(request.group), group.isMulticast else {
            throw APIProblem.validation("\(field).group must be a multicast address (\(ipv6 ? "ff00::/8" : "224.0.0.0/4")), got '\(request.group)'",
                                        field: "\(field).group")
        }
        switch (group, ipv6) {
        case (.v4, false), (.v6, true): break
        default:
            throw APIProblem.validation("\(field).group must be an \(ipv6 ? "IPv6" : "IPv4") group; \(ipv6 ? "ip_add_membership" : "ipv6_join_group") takes the other family",
                                        field: "\(field).group")
        }
        let choice = try request.interface.map { try interface($0, field: "\(field).interface") } ?? .any
        if ipv6, case .address = choice {
            throw APIProblem.validation("\(field).interface: an IPv6 interface is named by name or index, not by address",
                                        field: "\(field).interface.address")
        }
        return Membership(group: group, interface: choice)
    }

    /// An interface as GET shows it: index and name, or address; nil for the kernel's choice.
    private static func interfaceRef(_ value: SocketOptionValue?, names: [UInt32: String]) -> Components.Schemas.InterfaceRef? {
        guard case .interface(let choice)? = value else { return nil }
        switch choice {
        case .any: return nil
        case .index(let index): return .init(name: names[index], index: Int64(index))
        case .address(let address): return .init(address: address.description)
        case .name(let name): return .init(name: name)
        }
    }

    /// TCP's figures in the API schema (an option's `tcp_info`, a host socket's).
    static func schema(_ info: TCPInfo) -> Components.Schemas.TCPInfo {
        .init(state: info.state, rttUs: Int64(info.rttMicros), rttvarUs: Int64(info.rttVarianceMicros), cwnd: Int64(info.sendCongestionWindow),
              retransmits: Int(info.retransmits), totalRetransmits: Int64(info.totalRetransmits))
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
        var icmpTypes: [Int]?
        if case .icmpTypes(let types)? = report.values[.icmp_filter] { icmpTypes = types }
        var device: String?
        if case .device(let name)? = report.values[.so_bindtodevice], !name.isEmpty { device = name }
        let tcpInfo = report.tcpInfo.map(Self.schema)
        return .init(
            soReuseaddr: bool(.so_reuseaddr), soReuseport: bool(.so_reuseport), soKeepalive: bool(.so_keepalive),
            soBroadcast: bool(.so_broadcast), soRcvbuf: int(.so_rcvbuf), soSndbuf: int(.so_sndbuf), soLinger: linger,
            soOobinline: bool(.so_oobinline), tcpNodelay: bool(.tcp_nodelay), tcpKeepidle: int(.tcp_keepidle),
            tcpKeepintvl: int(.tcp_keepintvl), tcpKeepcnt: int(.tcp_keepcnt), ipTtl: int(.ip_ttl), ipTos: int(.ip_tos),
            ipv6V6only: bool(.ipv6_v6only), soPasscred: bool(.so_passcred), soTimestampns: bool(.so_timestampns),
            ipPktinfo: bool(.ip_pktinfo), ipRecvttl: bool(.ip_recvttl), ipv6Recvpktinfo: bool(.ipv6_recvpktinfo),
            ipv6Recvhoplimit: bool(.ipv6_recvhoplimit), ipMulticastTtl: int(.ip_multicast_ttl),
            ipMulticastLoop: bool(.ip_multicast_loop), ipMulticastAll: bool(.ip_multicast_all),
            ipMulticastIf: interfaceRef(report.values[.ip_multicast_if], names: report.interfaceNames),
            ipv6MulticastHops: int(.ipv6_multicast_hops), ipv6MulticastLoop: bool(.ipv6_multicast_loop),
            ipv6MulticastIf: interfaceRef(report.values[.ipv6_multicast_if], names: report.interfaceNames),
            soBindtodevice: device, ipHdrincl: bool(.ip_hdrincl), icmpFilter: icmpTypes, ipv6Checksum: int(.ipv6_checksum),
            soError: soError, soType: soType, soAcceptconn: bool(.so_acceptconn),
            tcpInfo: tcpInfo)
    }
}
