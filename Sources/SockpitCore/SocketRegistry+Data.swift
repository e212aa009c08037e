public import SocketKit
import Storage
import SystemPackage

/// What a send did.
public struct SendOutcome: Sendable {
    public var bytesSent: Int
    /// The destination address as the API shows it, for send-to.
    public var to: Address?
}

/// What a receive got.
public struct ReceiveOutcome: Sendable {
    public var bytes: [UInt8]
    /// The sender, as the API shows it (datagrams).
    public var from: Address?
    public var endOfFile: Bool
    public var truncated: Bool
    public var timedOut: Bool
    /// The descriptors that came with the data (`max_rights`), each kept as a new socket or closed.
    public var rights: [ReceivedRight] = []
    /// Control data did not fit (`MSG_CTRUNC`): descriptors past `max_rights` were closed.
    public var controlTruncated = false
    /// The sender's credentials (`so_passcred` on).
    public var credentials: Credentials?
    /// Where the datagram was addressed and the interface it came in on (`ip_pktinfo` / `ipv6_recvpktinfo` on).
    public var destination: Address?
    public var interfaceIndex: Int?
    /// TTL / hop limit of the packet (`ip_recvttl` / `ipv6_recvhoplimit` on).
    public var ttl: Int?
    /// When the kernel received it, unix µs (`so_timestampns` on).
    public var kernelTime: Int64?
    /// The IPv4 header that came before the payload (raw IPv4 sockets).
    public var ipHeader: IPv4Header?
    /// The Ethernet header that came before the payload (raw packet sockets).
    public var ethernetHeader: EthernetHeader?
    /// A netlink socket's datagram, message by message.
    public var netlinkMessages: [ReceivedNetlinkMessage] = []
}

extension SocketRegistry {
    /// `send(2)` / `sendto(2)`: on a stream socket the whole payload, waiting for buffer space until the deadline.
    ///
    /// `rights` passes open managed sockets beside the data (`SCM_RIGHTS`, Unix sockets); they go with the
    /// first `sendmsg` of the payload.
    /// `credentials` attaches this process's own (`SCM_CREDENTIALS`, Unix sockets).
    ///
    /// On a raw socket `ipHeader` (with `ip_hdrincl` on) writes the IPv4 header in front of `bytes`.
    public func send(id: String, bytes: [UInt8], to spec: Address?, flags: [String], rights: [String] = [],
                     credentials: Bool = false, ipHeader: IPHeaderSpec? = nil, ethernetHeader: EthernetSpec? = nil,
                     netlink: NetlinkSpec? = nil, timeout requested: Duration) async throws -> SendOutcome {
        let timeout = min(requested, policy.maxWait)
        guard bytes.count <= policy.maxSendBytes else {
            throw SockpitError(.tooLarge, "data is \(bytes.count) bytes; max_send_bytes is \(policy.maxSendBytes)", field: "data")
        }
        var sendFlags = SendFlags()
        if Set(flags).count != flags.count {
            throw SockpitError(.invalid, "flags lists a flag twice: \(flags.joined(separator: ", "))", field: "flags")
        }
        for name in flags {
            guard let flag = SendFlags.named(name) else {
                throw SockpitError(.invalid, "flag '\(name)' is not one of \(SendFlags.allNames.joined(separator: ", "))", field: "flags")
            }
            sendFlags.insert(flag)
        }
        var args: [String: Detail] = ["data": PayloadPreview.json(bytes[...]), "timeout_ms": .int(Self.ms(timeout))]
        if let spec { args["to"] = spec.detail }
        if !flags.isEmpty { args["flags"] = .array(flags.map(Detail.string)) }
        if !rights.isEmpty { args["rights"] = .array(rights.map(Detail.string)) }
        if credentials { args["credentials"] = .bool(true) }
        if let ipHeader { args["ip_header"] = Self.detail(of: ipHeader) }
        if let netlink {
            args["netlink"] = .object(["type": .int(Int64(netlink.type)), "flags": .int(Int64(netlink.flags)), "seq": .int(Int64(netlink.sequence))])
        }
        if let ethernetHeader {
            var header: [String: Detail] = ["dst": .string(ethernetHeader.destination), "ethertype": .int(Int64(ethernetHeader.etherType))]
            if let source = ethernetHeader.source { header["src"] = .string(source) }
            args["ethernet_header"] = .object(header)
        }
        return try await perform(id, op: "send", args: .object(args)) { (managed: ManagedSocket) async throws -> Step<SendOutcome> in
            let passed = try socketsToPass(rights, from: managed, payload: bytes.count)
            var control = OutgoingControl(rights: passed.map(\.socket))
            if credentials {
                guard managed.socket.family == .unix else {
                    throw SockpitError(.conflict, "credentials go over Unix sockets only; this one is \(managed.socket.family.name)",
                                       field: "credentials")
                }
                control.credentials = .current
            }
            var destination: SocketAddress?
            if let spec {
                let address = try await resolve(spec, for: managed, field: "to")
                try checkTarget(address, field: "to")
                destination = address
            }
            var bytes = bytes
            if managed.socket.family == .netlink {
                bytes = try netlinkDatagram(bytes, header: netlink, on: managed)
                if destination == nil { destination = .netlink(pid: 0, groups: 0) }
            } else if netlink != nil {
                throw SockpitError(.conflict, "netlink is for netlink sockets", field: "netlink")
            }
            if managed.socket.family == .packet {
                bytes = try linkFrame(bytes, header: ethernetHeader, on: managed)
            } else if ethernetHeader != nil {
                throw SockpitError(.conflict, "ethernet_header is for raw packet sockets", field: "ethernet_header")
            }
            if managed.socket.type == .raw, managed.socket.family != .packet {
                (bytes, destination) = try rawPacket(bytes, header: ipHeader, on: managed, to: destination)
            } else if ipHeader != nil {
                throw SockpitError(.conflict, "ip_header is for raw IPv4 sockets with ip_hdrincl on", field: "ip_header")
            }
            let deadline = ContinuousClock.now + timeout
            var sent = 0
            let isStream = managed.socket.type == .stream
            // What went out, for the answer and the history: the bytes, and the rights (they go with the first bytes).
            func effect() async -> (result: Detail, count: Int64, change: @Sendable (inout SocketRecord) -> Void) {
                var result: [String: Detail] = ["bytes_sent": .int(Int64(sent))]
                result["to"] = destination.flatMap(shown)?.detail
                if !passed.isEmpty {
                    for (key, value) in await follow(passed, from: managed, to: destination) { result[key] = value }
                }
                let count = Int64(sent)
                return (.object(result), count, { record in
                    record.bytesSent += count
                    record.messagesSent += 1
                })
            }
            // A stream send that fails part way sent what it sent: the failure says so, and so does the history.
            func failing(_ error: SockpitError) async -> any Error {
                guard sent > 0 else { return error }
                let (result, count, change) = await effect()
                return PartialFailure(error: error, result: result, bytes: count, change: change)
            }
            repeat {
                let written: Int?
                do {
                    written = try managed.socket.send(bytes[sent...], to: destination, flags: sendFlags, control: control)
                } catch let error as Errno {
                    if error == .brokenPipe || error == .connectionReset { managed.peerClosed = true }
                    throw await failing(Self.classify(error, op: "send", conflicts: [.notSupported, .invalidArgument]))
                }
                if let written {
                    control = .none  // the rights went with the first bytes
                    sent += written
                    if !isStream { break }
                    continue
                }
                if try await managed.socket.wait(for: .writable, until: deadline) == .timedOut {
                    throw await failing(SockpitError(.timeout, "sent \(sent) of \(bytes.count) bytes before the deadline (\(Self.ms(timeout)) ms)",
                                                     errno: Errno.timedOut.name))
                }
            } while sent < bytes.count
            let (result, count, change) = await effect()
            return Step(value: SendOutcome(bytesSent: sent, to: destination.flatMap(shown)), result: result, bytes: count, change: change)
        }.0
    }

    /// `recv(2)` / `recvfrom(2)`, waiting up to `timeout` for data.
    ///
    /// Up to `maxRights` descriptors passed with the data (`SCM_RIGHTS`, Unix sockets) become managed sockets of
    /// their own; more are closed and the answer says so.
    public func receive(id: String, maxBytes: Int, timeout requested: Duration, peek: Bool, oob: Bool,
                        maxRights: Int = 0) async throws -> ReceiveOutcome {
        let timeout = min(requested, policy.maxWait)
        guard (0...OutgoingControl.maximumRights).contains(maxRights) else {
            throw SockpitError(.invalid, "max_rights must be between 0 and \(OutgoingControl.maximumRights), got \(maxRights)",
                               field: "max_rights")
        }
        // A peek takes no descriptors: each would be a new copy, made a managed socket, while the message (and its
        // rights) stays queued for the receive that takes it.
        let maxRights = peek ? 0 : maxRights
        guard maxBytes >= 1, maxBytes <= policy.maxReceiveBytes else {
            throw SockpitError(maxBytes < 1 || maxBytes > 1 << 24 ? .invalid : .tooLarge,
                               "max_bytes must be between 1 and max_receive_bytes (\(policy.maxReceiveBytes)), got \(maxBytes)",
                               field: "max_bytes")
        }
        var flags = ReceiveFlags()
        if peek { flags.insert(.peek) }
        if oob { flags.insert(.oob) }
        var receiveArgs: [String: Detail] = ["max_bytes": .int(Int64(maxBytes)), "timeout_ms": .int(Self.ms(timeout)),
                                             "peek": .bool(peek), "oob": .bool(oob)]
        if maxRights > 0 { receiveArgs["max_rights"] = .int(Int64(maxRights)) }
        let args = Detail.object(receiveArgs)
        return try await perform(id, op: "receive", args: args) { (managed: ManagedSocket) async throws -> Step<ReceiveOutcome> in
            // Urgent data only ever arrives on a connection that can still be read.
            let state = managed.snapshot().state
            if managed.socket.protocol == .raw, managed.socket.type == .raw {
                throw SockpitError(.conflict, "an IPPROTO_RAW socket sends whole packets and receives nothing (raw(7)): "
                    + "open a raw socket for the protocol to receive")
            }
            if maxRights > 0, managed.socket.family != .unix {
                throw SockpitError(.conflict, "max_rights receives sockets over Unix sockets only; this one is \(managed.socket.family.name)",
                                   field: "max_rights")
            }
            if oob, managed.socket.type == .stream, ![SocketState.connected.rawValue, SocketState.writeShutdown.rawValue].contains(state) {
                throw SockpitError(.conflict, "receive with oob needs a connected stream socket that can still read; this one is \(state)",
                                   errno: Errno.socketNotConnected.name, state: state)
            }
            let deadline = ContinuousClock.now + timeout
            var woke = false
            while true {
                let message: ReceivedMessage?
                do { message = try managed.socket.receive(maxBytes: maxBytes, flags: flags, maxRights: maxRights) } catch let error as Errno {
                    // Without urgent data queued, MSG_OOB answers EINVAL: that is "nothing yet", wait for it —
                    // unless the wait ended because the peer hung up: then none will ever come (end of file).
                    if oob, error == .invalidArgument, woke, managed.socket.peerHasHungUp() {
                        let outcome = ReceiveOutcome(bytes: [], from: nil, endOfFile: true, truncated: false, timedOut: false)
                        return Step(value: outcome, result: .object(["eof": .bool(true)]), bytes: 0)
                    }
                    if oob, error == .invalidArgument { message = nil } else {
                        if error == .connectionReset { managed.peerClosed = true }
                        throw Self.classify(error, op: "receive", conflicts: [.invalidArgument, .notSupported])
                    }
                }
                if let message {
                    // Woken by a close (which shut it for reading): that end of file is not the peer's doing.
                    if message.endOfFile, managed.closing { throw Self.closedWhileWaiting(managed.id, op: "receive") }
                    let from = message.from.flatMap { shown($0, of: managed) }
                    var result: [String: Detail] = [
                        "data": PayloadPreview.json(message.bytes[...]), "eof": .bool(message.endOfFile),
                        "truncated": .bool(message.truncated),
                    ]
                    result["from"] = from?.detail
                    let rights = await adopt(rights: message.control.rights, via: managed)
                    if !rights.isEmpty { result["rights"] = .array(rights.map(\.detail)) }
                    if message.control.truncated { result["ctrunc"] = .bool(true) }
                    if !peek, !rights.isEmpty || message.control.truncated {
                        rightsInFlight.received(at: managed.id, cookies: rights.compactMap(\.cookie))
                    }
                    let metadata = Self.metadata(message.control, shown: shown)
                    for (key, value) in metadata.detail { result[key] = value }
                    let count = Int64(message.bytes.count)
                    let counts = !peek && (count > 0 || managed.socket.type == .dgram || !message.endOfFile)
                    // An IPv4 raw socket receives each packet with its IP header: decoded, and the data is the payload.
                    var payload = message.bytes
                    var ipHeader: IPv4Header?
                    if managed.socket.type == .raw, managed.socket.family == .inet, let header = IPv4Header(decoding: payload[...]) {
                        ipHeader = header
                        payload = Array(payload[header.length...])
                        result["data"] = PayloadPreview.json(payload[...])
                        result["ip_header"] = Self.detail(of: header)
                    }
                    // A raw packet socket receives whole frames: the Ethernet header decoded, the data its payload.
                    var ethernetHeader: EthernetHeader?
                    if managed.socket.type == .raw, managed.socket.family == .packet, let header = EthernetHeader(decoding: payload[...]) {
                        ethernetHeader = header
                        payload = Array(payload[header.length...])
                        result["data"] = PayloadPreview.json(payload[...])
                        result["ethernet_header"] = Self.detail(of: header)
                    }
                    var outcome = ReceiveOutcome(bytes: payload, from: from, endOfFile: message.endOfFile,
                                                 truncated: message.truncated, timedOut: false, rights: rights,
                                                 controlTruncated: message.control.truncated)
                    outcome.credentials = message.control.credentials
                    outcome.ipHeader = ipHeader
                    if managed.socket.family == .netlink {
                        outcome.netlinkMessages = Self.netlinkMessages(payload, protocol: managed.socket.protocol.rawValue)
                        result["netlink_messages"] = .array(outcome.netlinkMessages.map { received in
                            var item: [String: Detail] = ["type": .int(Int64(received.message.type)), "flags": .int(Int64(received.message.flags)),
                                                          "seq": .int(Int64(received.message.sequence))]
                            if let errno = received.errno { item["errno"] = .string(errno) }
                            if let text = received.errorMessage { item["error_message"] = .string(text) }
                            return .object(item)
                        })
                    }
                    outcome.ethernetHeader = ethernetHeader
                    outcome.destination = metadata.destination
                    outcome.interfaceIndex = message.control.packetInfo?.interfaceIndex
                    outcome.ttl = message.control.hopLimit
                    outcome.kernelTime = message.control.kernelTime?.unixMicroseconds
                    return Step(value: outcome, result: .object(result), bytes: count) { record in
                        guard counts else { return }
                        record.bytesReceived += count
                        record.messagesReceived += 1
                    }
                }
                // Closed meanwhile: a datagram socket shut for reading is readable but has nothing to read.
                if managed.closing { throw Self.closedWhileWaiting(managed.id, op: "receive") }
                let interest: Interest = oob ? .urgent : .readable
                woke = true
                if try await managed.socket.wait(for: interest, until: deadline) == .timedOut {
                    let outcome = ReceiveOutcome(bytes: [], from: nil, endOfFile: false, truncated: false, timedOut: true)
                    return Step(value: outcome, result: .object(["timed_out": .bool(true)]), bytes: 0, outcome: "timeout")
                }
            }
        }.0
    }

    /// `shutdown(2)` of one or both directions.
    public func shutdown(id: String, how: ShutdownHow) async throws -> SocketSnapshot {
        try await perform(id, op: "shutdown", args: .object(["how": .string(how.rawValue)])) { (managed: ManagedSocket) async throws -> Step<Void> in
            do { try managed.socket.shutdown(how) } catch let error as Errno {
                throw Self.classify(error, op: "shutdown", conflicts: [.notSupported])
            }
            return Step(value: (), result: nil) { record in
                switch (how, record.state) {
                case (.write, SocketState.listening.rawValue): break  // a listener has nothing to send: it goes on listening
                case (.both, _), (.read, SocketState.writeShutdown.rawValue), (.write, SocketState.readShutdown.rawValue):
                    record.state = SocketState.shutdown.rawValue
                case (.read, _): record.state = SocketState.readShutdown.rawValue
                case (.write, _): record.state = SocketState.writeShutdown.rawValue
                }
            }
        }.1.snapshot
    }
}

extension SocketRegistry {
    /// What a message's control data says about it, for the answer and the history.
    static func metadata(_ control: ReceivedControl, shown: (SocketAddress) -> Address?)
        -> (destination: Address?, detail: [String: Detail]) {
        var detail: [String: Detail] = [:]
        if let credentials = control.credentials { detail["credentials"] = Self.detail(of: credentials) }
        let destination = control.packetInfo.flatMap { shown($0.destination) }
        if let destination { detail["destination"] = destination.detail }
        if let info = control.packetInfo { detail["interface_index"] = .int(Int64(info.interfaceIndex)) }
        if let ttl = control.hopLimit { detail["ttl"] = .int(Int64(ttl)) }
        if let time = control.kernelTime { detail["kernel_time_us"] = .int(time.unixMicroseconds) }
        return (destination, detail)
    }
}

extension SocketRegistry {
    /// A received IPv4 header as history and the API show it.
    static func detail(of header: IPv4Header) -> Detail {
        var members: [String: Detail] = [
            "version": .int(Int64(header.version)), "ihl": .int(Int64(header.ihl)), "tos": .int(Int64(header.tos)),
            "length": .int(Int64(header.totalLength)), "id": .int(Int64(header.identification)),
            "df": .bool(header.dontFragment), "mf": .bool(header.moreFragments),
            "fragment_offset": .int(Int64(header.fragmentOffset)), "ttl": .int(Int64(header.ttl)),
            "protocol": .int(Int64(header.protocol)), "checksum": .int(Int64(header.checksum)),
            "src": .string(header.source.description), "dst": .string(header.destination.description),
        ]
        if !header.options.isEmpty { members["options"] = .string(header.optionsHex) }
        return .object(members)
    }

    /// A received Ethernet header as history and the API show it.
    static func detail(of header: EthernetHeader) -> Detail {
        var members: [String: Detail] = [
            "dst": .string(LinkAddress.text(header.destination)), "src": .string(LinkAddress.text(header.source)),
            "ethertype": .int(Int64(header.etherType)),
        ]
        if let vlan = header.vlan { members["vlan"] = .object(["id": .int(Int64(vlan.id)), "priority": .int(Int64(vlan.priority))]) }
        return .object(members)
    }

    /// A header a send asked for, as history keeps its arguments.
    static func detail(of spec: IPHeaderSpec) -> Detail {
        var members: [String: Detail] = [:]
        if let source = spec.source { members["src"] = .string(source) }
        if let destination = spec.destination { members["dst"] = .string(destination) }
        if let ttl = spec.ttl { members["ttl"] = .int(Int64(ttl)) }
        if let tos = spec.tos { members["tos"] = .int(Int64(tos)) }
        if let id = spec.identification { members["id"] = .int(Int64(id)) }
        if let df = spec.dontFragment { members["df"] = .bool(df) }
        if let proto = spec.protocol { members["protocol"] = .int(Int64(proto)) }
        return .object(members)
    }
}
