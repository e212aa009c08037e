import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// The length limits of the event filters (the generated code does not check `maxLength`); shared by the
    /// history list and the event stream.
    static func checkEventFilters(socketID: String?, probeID: String?) throws {
        for (name, value) in [("socket_id", socketID), ("probe_id", probeID)] {
            if let value, value.unicodeScalars.count > 64 { throw APIProblem.validation("\(name) is longer than 64 characters", field: name) }
        }
    }

    /// `GET /v1/events`.
    func listEvents(_ input: Operations.ListEvents.Input) async throws -> Operations.ListEvents.Output {
        let query = input.query
        let events = try Self.eventQuery(
            socketID: query.socketId, probeID: query.probeId, op: query.op?.rawValue, outcome: query.outcome?.rawValue, since: query.since,
            until: query.until, after: query.after, limit: query.limit, cursor: query.cursor, order: query.order?.rawValue)
        let accepted = ClientAccept.ranked(Operations.ListEvents.AcceptableContentType.self)
        let wantsLines = query.format == .ndjson
            || (query.format == nil && !accepted.isEmpty && accepted.allSatisfy { $0 == .applicationXNdjson })
        if wantsLines { return .ok(.init(body: .applicationXNdjson(exportBody(events, cap: query.limit)))) }
        let page = try await runtime.events(events)
        return .ok(.init(body: .json(.init(items: try page.items.map(Self.event), nextCursor: page.nextCursor.map(String.init)))))
    }

    /// `GET /v1/events/export`: the ndjson answer of `GET /v1/events` as an operation of its own.
    func exportEvents(_ input: Operations.ExportEvents.Input) async throws -> Operations.ExportEvents.Output {
        let query = input.query
        let events = try Self.eventQuery(
            socketID: query.socketId, probeID: query.probeId, op: query.op?.rawValue, outcome: query.outcome?.rawValue, since: query.since,
            until: query.until, after: query.after, limit: query.limit, cursor: query.cursor, order: query.order?.rawValue)
        // The same lines as text when the client prefers it (a browser showing the export, a generated client
        // that knows no ndjson); JSON Lines otherwise.
        let asText = ClientAccept.ranked(Operations.ExportEvents.AcceptableContentType.self).first == .plainText
        let body = exportBody(events, cap: query.limit)
        return .ok(.init(body: asText ? .plainText(body) : .applicationXNdjson(body)))
    }

    /// Every matching event, streamed page by page: memory stays at one page however long the export.
    private func exportBody(_ query: EventQuery, cap: Int?) -> HTTPBody {
        var query = query
        query.limit = 1000
        return HTTPBody(EventPages(runtime: runtime, query: query, cap: cap), length: .unknown, iterationBehavior: .single)
    }

    /// The history query both event operations take, checked.
    private static func eventQuery(socketID: String?, probeID: String?, op: String?, outcome: String?, since: Date?, until: Date?,
                                   after: String?, limit: Int?, cursor: String?, order: String?) throws -> EventQuery {
        try checkEventFilters(socketID: socketID, probeID: probeID)
        var events = EventQuery(
            socketID: socketID, probeID: probeID, op: op, outcome: outcome, since: since.map(Self.micros), until: until.map(Self.micros),
            limit: try Paging.limit(limit), cursor: try Paging.cursor(cursor), order: Paging.order(order))
        if let after {
            // Its own field name in the problem (Paging.cursor would name `cursor`).
            guard let value = Paging.decimalID(after) else {
                throw APIProblem.validation("after '\(after)' is not an event id (decimal digits, at most 18)", field: "after")
            }
            events.after = value
        }
        return events
    }
}

/// The events matching a query as JSON Lines, one chunk per page: the next page is read from SQLite only when
/// the consumer has taken the previous one (back-pressure from the HTTP stream reaches the database). Lines are
/// `EventLine`s (stored args/result copied, not decoded and encoded again).
struct EventPages: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let runtime: SockpitRuntime
    let query: EventQuery
    /// The most events to export (the `limit` parameter), nil for all.
    let cap: Int?

    struct AsyncIterator: AsyncIteratorProtocol {
        let runtime: SockpitRuntime
        var query: EventQuery
        var done = false
        var remaining: Int?

        mutating func next() async throws -> ArraySlice<UInt8>? {
            guard !done else { return nil }
            if let remaining, remaining <= 0 { return nil }
            let page = try await runtime.events(query)
            if let next = page.nextCursor { query.cursor = next } else { done = true }
            var items = page.items[...]
            if let left = remaining {
                items = items.prefix(left)
                remaining = left - items.count
            }
            guard !items.isEmpty else { return nil }
            var chunk: [UInt8] = []
            chunk.reserveCapacity(items.count * 320)
            for event in items {
                chunk += EventLine.render(event)
                chunk.append(UInt8(ascii: "\n"))
            }
            return chunk[...]
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(runtime: runtime, query: query, remaining: cap)
    }
}
