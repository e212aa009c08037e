import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `POST /v1/sockets`.
    func createSocket(_ input: Operations.CreateSocket.Input) async throws -> Operations.CreateSocket.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let record = try await runtime.sockets.create(
            family: request.family.rawValue, type: request._type.rawValue, protocol: request._protocol,
            label: request.label, options: try request.options.map { try Self.options($0.value1) }, netns: request.netns)
        return .created(.init(headers: .init(location: "/v1/sockets/\(record.id)"), body: .json(try Self.socket(record))))
    }

    /// `GET /v1/sockets`.
    func listSockets(_ input: Operations.ListSockets.Input) async throws -> Operations.ListSockets.Output {
        let query = input.query
        if let label = query.label, label.unicodeScalars.count > 200 {
            throw APIProblem.validation("label is longer than 200 characters", field: "label")
        }
        if let netns = query.netns, netns.isEmpty || netns.unicodeScalars.count > 255 {
            throw APIProblem.validation("netns must be 1 to 255 characters", field: "netns")
        }
        let page = try await runtime.sockets.list(SocketQuery(
            state: query.state?.rawValue, family: query.family?.rawValue, type: query._type?.rawValue, label: query.label,
            netns: query.netns, limit: try Paging.limit(query.limit), cursor: try Paging.cursor(query.cursor), order: Paging.order(query.order?.rawValue)))
        return .ok(.init(body: .json(.init(items: try page.items.map(Self.socket), nextCursor: page.nextCursor.map(String.init)))))
    }

    /// `GET /v1/sockets/{id}`.
    func getSocket(_ input: Operations.GetSocket.Input) async throws -> Operations.GetSocket.Output {
        // Options here are the ones set through the API (recorded); GET .../options reads every one live.
        .ok(.init(body: .json(try Self.socket(try await runtime.sockets.get(id: input.path.id)))))
    }

    /// `DELETE /v1/sockets/{id}`.
    func closeSocket(_ input: Operations.CloseSocket.Input) async throws -> Operations.CloseSocket.Output {
        try await runtime.sockets.close(id: input.path.id)
        return .noContent(.init())
    }

    /// `GET /v1/sockets/{id}/events`.
    func listSocketEvents(_ input: Operations.ListSocketEvents.Input) async throws -> Operations.ListSocketEvents.Output {
        let query = input.query
        let page = try await runtime.sockets.events(of: input.path.id, query: EventQuery(
            limit: try Paging.limit(query.limit), cursor: try Paging.cursor(query.cursor), order: Paging.order(query.order?.rawValue)))
        return .ok(.init(body: .json(.init(items: try page.items.map(Self.event), nextCursor: page.nextCursor.map(String.init)))))
    }

    // MARK: - Translation

    static func socket(_ socket: SocketSnapshot) throws -> Components.Schemas.Socket {
        let family = try Components.Schemas.SocketFamily(listed: socket.family)
        let type = try Components.Schemas.SocketType(listed: socket.type)
        let state = try Components.Schemas.SocketState(listed: socket.state.rawValue)
        let closeReason = try socket.closeReason.map { try Components.Schemas.CloseReason(listed: $0) }
        return .init(
            id: socket.id, family: family, _type: type, _protocol: socket.protocol, state: state,
            label: socket.label, parentId: socket.parentID, cookie: socket.cookie,
            peerCredentials: socket.peerCredentials.map { .init(pid: Int($0.pid), uid: Int64($0.uid), gid: Int64($0.gid)) },
            memberships: try socket.memberships.map { try $0.decoded() },
            netns: socket.netns,
            localAddress: try socket.localAddress.map(Self.schema), peerAddress: try socket.peerAddress.map(Self.schema),
            options: try socket.options.map { try $0.decoded() },
            createdAt: Time.date(micros: socket.createdAt),
            closedAt: socket.closedAt.map(Time.date(micros:)), closeReason: closeReason.map { .init(value1: $0) },
            counters: .init(bytesSent: socket.bytesSent, bytesReceived: socket.bytesReceived,
                            messagesSent: socket.messagesSent, messagesReceived: socket.messagesReceived))
    }

    static func event(_ event: Event) throws -> Components.Schemas.Event {
        let outcome = Components.Schemas.EventOutcome(rawValue: event.outcome.rawValue) ?? .error
        let durationMs: Double? = event.durationUs.map { Double($0) / 1000 }
        let args = try event.args.map { Components.Schemas.Event.ArgsPayload(additionalProperties: try $0.container()) }
        let result = try event.result.map { Components.Schemas.Event.ResultPayload(additionalProperties: try $0.container()) }
        return Components.Schemas.Event(
            id: String(event.id), at: Time.date(micros: event.at), socketId: event.socketID,
            probeId: event.probeID, netns: event.netns, op: try .init(listed: event.op), outcome: outcome, errno: event.errno,
            errorMessage: event.errorMessage, durationMs: durationMs, bytes: event.bytes, args: args, result: result)
    }

    /// The decoder of documented shapes kept in the history (none of which holds a date).
    static let decoder = JSONDecoder()
}

/// Query parameters shared by every list (STYLE.md API conventions), validated here because the generated
/// code does not check `minimum`/`maximum`/`maxLength`.
enum Paging {
    static func limit(_ value: Int?) throws -> Int {
        guard let value else { return 50 }
        guard (1...1000).contains(value) else { throw APIProblem.validation("limit must be between 1 and 1000, got \(value)", field: "limit") }
        return value
    }

    static func cursor(_ value: String?) throws -> Int64? {
        guard let value else { return nil }
        guard let cursor = decimalID(value) else {
            throw APIProblem.validation("cursor '\(value)' is not a cursor this server returned", field: "cursor")
        }
        return cursor
    }

    /// A cursor or event id as the API writes them: 1 to 18 decimal digits; nil for anything else.
    static func decimalID(_ text: some StringProtocol) -> Int64? {
        guard (1...18).contains(text.utf8.count), text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int64(text)
    }

    static func order(_ value: String?) -> ListOrder { value == "asc" ? .oldestFirst : .newestFirst }
}

/// Unix microseconds to `Date` (rendered as RFC 3339 with milliseconds).
enum Time {
    static func date(micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}
