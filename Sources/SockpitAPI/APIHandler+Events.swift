import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import Storage

extension APIHandler {
    /// `GET /v1/events`.
    func listEvents(_ input: Operations.ListEvents.Input) async throws -> Operations.ListEvents.Output {
        let query = input.query
        for (name, value) in [("socket_id", query.socketId), ("probe_id", query.probeId), ("op", query.op)] {
            if let value, value.utf8.count > 64 { throw APIProblem.validation("\(name) is longer than 64 bytes", field: name) }
        }
        var events = EventQuery(
            socketID: query.socketId, probeID: query.probeId, op: query.op, outcome: query.outcome?.rawValue,
            since: query.since.map(Self.micros), until: query.until.map(Self.micros),
            limit: try Paging.limit(query.limit), cursor: try Paging.cursor(query.cursor), order: Paging.order(query.order?.rawValue))
        if let after = query.after {
            guard let value = try Paging.cursor(after) else { throw APIProblem.validation("after is not an event id", field: "after") }
            events.after = value
        }
        let wantsLines = query.format == .ndjson
            || (query.format == nil && !input.headers.accept.isEmpty
                && input.headers.accept.allSatisfy { $0.contentType == .applicationXNdjson })
        if wantsLines {
            // Every matching event, streamed page by page: memory stays at one page however long the export.
            events.limit = 1000
            let pages = EventPages(runtime: runtime, query: events, cap: query.limit)
            let body = HTTPBody(pages.asEncodedJSONLines(encoder: Self.lineEncoder), length: .unknown, iterationBehavior: .single)
            return .ok(.init(body: .applicationXNdjson(body)))
        }
        let page = try await runtime.events(events)
        return .ok(.init(body: .json(.init(items: try page.items.map(Self.event), nextCursor: page.nextCursor.map(String.init)))))
    }

    /// Compact JSON, one event per line, with the API's RFC 3339 millisecond times.
    static let lineEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339Transcoder.format(date))
        }
        return encoder
    }()
}

/// The events matching a query as an async sequence that reads the next page from SQLite only when the
/// consumer has taken the previous one (back-pressure from the HTTP stream reaches the database).
struct EventPages: AsyncSequence, Sendable {
    typealias Element = Components.Schemas.Event
    let runtime: SockpitRuntime
    let query: EventQuery
    /// The most events to export (the `limit` parameter), nil for all.
    let cap: Int?

    struct AsyncIterator: AsyncIteratorProtocol {
        let runtime: SockpitRuntime
        var query: EventQuery
        var buffer: [EventRecord] = []
        var index = 0
        var done = false
        var remaining: Int?

        mutating func next() async throws -> Components.Schemas.Event? {
            if let remaining, remaining <= 0 { return nil }
            if index == buffer.count {
                guard !done else { return nil }
                let page = try await runtime.events(query)
                buffer = page.items
                index = 0
                if let next = page.nextCursor { query.cursor = next } else { done = true }
                if buffer.isEmpty { return nil }
            }
            defer { index += 1 }
            remaining = remaining.map { $0 - 1 }
            return try APIHandler.event(buffer[index])
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(runtime: runtime, query: query, remaining: cap)
    }
}
