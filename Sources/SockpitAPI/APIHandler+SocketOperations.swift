import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `POST /v1/sockets/{id}/bind`.
    func bindSocket(_ input: Operations.BindSocket.Input) async throws -> Operations.BindSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let record = try await runtime.sockets.bind(id: input.path.id, address: Self.spec(request.address))
        return .ok(.init(body: .json(try Self.socket(record))))
    }

    /// `POST /v1/sockets/{id}/listen`.
    func listenSocket(_ input: Operations.ListenSocket.Input) async throws -> Operations.ListenSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let record = try await runtime.sockets.listen(id: input.path.id, backlog: request.backlog ?? 128)
        return .ok(.init(body: .json(try Self.socket(record))))
    }

    /// `POST /v1/sockets/{id}/accept`: 201 with the new socket, or 200 `timed_out`.
    func acceptSocket(_ input: Operations.AcceptSocket.Input) async throws -> Operations.AcceptSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let timeout = try Self.timeout(request.timeoutMs, default: 0, field: "timeout_ms")
        guard let record = try await runtime.sockets.accept(id: input.path.id, timeout: timeout) else {
            return .ok(.init(body: .json(.init(timedOut: true))))
        }
        return .created(.init(headers: .init(location: "/v1/sockets/\(record.id)"), body: .json(try Self.socket(record))))
    }

    /// `POST /v1/sockets/{id}/connect`.
    func connectSocket(_ input: Operations.ConnectSocket.Input) async throws -> Operations.ConnectSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let timeout = try Self.timeout(request.timeoutMs, default: 10_000, field: "timeout_ms")
        let record = try await runtime.sockets.connect(id: input.path.id, address: Self.spec(request.address), timeout: timeout)
        return .ok(.init(body: .json(try Self.socket(record))))
    }

    /// `POST /v1/sockets/{id}/send`.
    func sendSocket(_ input: Operations.SendSocket.Input) async throws -> Operations.SendSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let bytes = try Payload.decode(request.data, encoding: request.encoding?.value1.rawValue ?? "utf8", field: "data")
        let timeout = try Self.timeout(request.timeoutMs, default: 10_000, field: "timeout_ms")
        let outcome = try await runtime.sockets.send(
            id: input.path.id, bytes: bytes, to: request.to.map { Self.spec($0.value1) }, flags: request.flags?.map(\.rawValue) ?? [],
            rights: request.rights ?? [], credentials: request.credentials ?? false,
            ipHeader: request.ipHeader.map(\.value1).map { header in
                IPHeaderSpec(source: header.src, destination: header.dst, ttl: header.ttl, tos: header.tos, identification: header.id,
                             dontFragment: header.df, protocol: header._protocol)
            },
            ethernetHeader: request.ethernetHeader.map(\.value1).map { header in
                EthernetSpec(destination: header.dst, source: header.src, etherType: header.ethertype)
            },
            netlink: request.netlink.map(\.value1).map { header in
                NetlinkSpec(type: header._type, flags: header.flags ?? 5, sequence: Int(header.seq ?? 1))
            },
            timeout: timeout)
        return .ok(.init(body: .json(.init(bytesSent: Int64(outcome.bytesSent), to: try outcome.to.map(Self.schema)))))
    }

    /// `POST /v1/sockets/{id}/receive`.
    func receiveSocket(_ input: Operations.ReceiveSocket.Input) async throws -> Operations.ReceiveSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let timeout = try Self.timeout(request.timeoutMs, default: 0, field: "timeout_ms")
        var encoding = request.encoding?.value1 ?? Components.Schemas.Encoding.utf8
        let outcome = try await runtime.sockets.receive(
            id: input.path.id, maxBytes: request.maxBytes ?? 65536, timeout: timeout, peek: request.peek ?? false,
            oob: request.oob ?? false, maxRights: request.maxRights ?? 0)
        let rights = outcome.rights.map { right in
            Components.Schemas.ReceivedRight(kind: right.kind, socketId: right.socketID,
                                             sameKernelSocketAs: right.sameKernelSocketAs, closed: right.closed)
        }
        // Without an encoding asked for, bytes that are not UTF-8 come in base64, and the answer says so.
        if request.encoding == nil, String(validating: outcome.bytes, as: UTF8.self) == nil { encoding = .base64 }
        return .ok(.init(body: .json(.init(
            data: try Payload.encode(outcome.bytes, encoding: encoding.rawValue), encoding: encoding,
            bytes: Int64(outcome.bytes.count), from: try outcome.from.map(Self.schema), eof: outcome.endOfFile,
            truncated: outcome.truncated, timedOut: outcome.timedOut, rights: rights.isEmpty ? nil : rights,
            ctrunc: outcome.controlTruncated ? true : nil,
            credentials: outcome.credentials.map { .init(pid: Int($0.pid), uid: Int64($0.uid), gid: Int64($0.gid)) },
            destination: try outcome.destination.map(Self.schema), interfaceIndex: outcome.interfaceIndex, ttl: outcome.ttl,
            kernelTime: outcome.kernelTime.map { Time.date(micros: $0) },
            ipHeader: outcome.ipHeader.map { header in
                .init(version: header.version, ihl: header.ihl, tos: header.tos, length: header.totalLength, id: header.identification,
                      df: header.dontFragment, mf: header.moreFragments, fragmentOffset: header.fragmentOffset, ttl: header.ttl,
                      _protocol: header.protocol, checksum: header.checksum, src: header.source.description,
                      dst: header.destination.description,
                      options: header.options.isEmpty ? nil : header.optionsHex)
            },
            ethernetHeader: outcome.ethernetHeader.map { header in
                .init(dst: LinkAddress.text(header.destination), src: LinkAddress.text(header.source), ethertype: Int(header.etherType),
                      vlan: header.vlan.map { .init(id: $0.id, priority: $0.priority) })
            },
            netlinkMessages: outcome.netlinkMessages.isEmpty ? nil : try outcome.netlinkMessages.map { received in
                .init(_type: Int(received.message.type), flags: Int(received.message.flags), seq: Int64(received.message.sequence),
                      pid: Int64(received.message.portID),
                      payload: try Payload.encode(received.message.payload, encoding: encoding.rawValue),
                      errno: received.errno, errorMessage: received.errorMessage,
                      attributes: try received.attributes?.map { .init(_type: $0.type, value: try Payload.encode($0.value, encoding: "hex")) })
            }))))
    }

    /// `POST /v1/sockets/{id}/shutdown`.
    func shutdownSocket(_ input: Operations.ShutdownSocket.Input) async throws -> Operations.ShutdownSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let how = ShutdownHow(rawValue: request.how.rawValue) ?? .both
        return .ok(.init(body: .json(try Self.socket(try await runtime.sockets.shutdown(id: input.path.id, how: how)))))
    }

    /// `GET /v1/sockets/{id}/options`.
    func getSocketOptions(_ input: Operations.GetSocketOptions.Input) async throws -> Operations.GetSocketOptions.Output {
        .ok(.init(body: .json(Self.options(try await runtime.sockets.options(id: input.path.id)))))
    }

    /// `PATCH /v1/sockets/{id}/options`.
    func setSocketOptions(_ input: Operations.SetSocketOptions.Input) async throws -> Operations.SetSocketOptions.Output {
        guard case .json(let patch) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let report = try await runtime.sockets.setOptions(id: input.path.id, try Self.options(patch))
        return .ok(.init(body: .json(Self.options(report))))
    }

    /// `POST /v1/socketpairs`.
    func createSocketPair(_ input: Operations.CreateSocketPair.Input) async throws -> Operations.CreateSocketPair.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let (first, second) = try await runtime.sockets.createPair(type: request._type.rawValue, label: request.label)
        return .created(.init(headers: .init(location: "/v1/sockets/\(first.id)"),
                              body: .json(.init(sockets: [try Self.socket(first), try Self.socket(second)]))))
    }

    // MARK: - Translation

    static func spec(_ address: Components.Schemas.Address) -> Address {
        switch address {
        case .InetAddress(let inet): .inet(host: inet.host, port: inet.port, scopeID: inet.scopeId)
        case .UnixPathAddress(let unix): .path(unix.path)
        case .UnixAbstractAddress(let abstract): .abstract(abstract.abstract)
        case .NetlinkAddress(let netlink):
            .netlink(pid: UInt32(clamping: netlink.netlink.pid), groups: UInt32(clamping: netlink.netlink.groups ?? 0))
        case .LinkAddress(let link):
            .link(LinkSpec(interface: link.interface, index: link.index.flatMap { UInt32(exactly: $0) }, protocol: link._protocol,
                           address: link.address))
        }
    }

    /// The API schema of an address (the inverse of `spec(_:)`); the API has no netlink sockets yet, so a
    /// netlink address reaching it is an internal error.
    static func schema(_ address: Address) throws -> Components.Schemas.Address {
        switch address {
        case .inet(let host, let port, let scopeID): return .InetAddress(.init(host: host, port: port, scopeId: scopeID))
        case .path(let name): return .UnixPathAddress(.init(path: name))
        case .abstract(let name): return .UnixAbstractAddress(.init(abstract: name))
        case .netlink(let pid, let groups): return .NetlinkAddress(.init(netlink: .init(pid: Int64(pid), groups: Int64(groups))))
        case .link(let link):
            return .LinkAddress(.init(
                interface: link.interface, index: link.index.map { Int64($0) }, _protocol: link.protocol, hardwareType: link.hardwareType,
                packetType: link.packetType.flatMap { .init(rawValue: $0) }, address: link.address))
        }
    }

    static func timeout(_ ms: Int?, default value: Int, field: String) throws -> Duration {
        let ms = ms ?? value
        guard (0...300_000).contains(ms) else {
            throw APIProblem.validation("\(field) must be between 0 and 300000, got \(ms)", field: field)
        }
        return .milliseconds(ms)
    }
}
