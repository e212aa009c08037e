import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `GET /v1/events/stream`.
    func streamEvents(_ input: Operations.StreamEvents.Input) async throws -> Operations.StreamEvents.Output {
        let query = input.query
        try Self.checkEventFilters(socketID: query.socketId, probeID: query.probeId)
        if let token = query.accessToken, token.unicodeScalars.count > 1024 {
            throw APIProblem.validation("access_token is longer than 1024 characters", field: "access_token")
        }
        // The header wins: a browser reconnecting keeps the URL it started with and sends the newer id.
        // Both are checked, so a malformed one is never silently ignored.
        let fromQuery = try query.after.map { try Self.eventID($0, field: "after") }
        let fromHeader = try input.headers.lastEventID.map { try Self.eventID($0, field: "Last-Event-ID") }
        let resumeAfter = fromHeader ?? fromQuery
        let admission = try runtime.admitStream()
        let filter = EventFilter(socketID: query.socketId, probeID: query.probeId, op: query.op?.rawValue, outcome: query.outcome.flatMap { Event.Outcome(rawValue: $0.rawValue) })
        let stream = EventStream(runtime: runtime, lines: eventLines, filter: filter, resumeAfter: resumeAfter, admission: admission)
        return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown, iterationBehavior: .single))))
    }

    /// An event id given by a client: decimal digits, at most 18 of them.
    static func eventID(_ text: String, field: String) throws -> Int64 {
        guard let value = Paging.decimalID(text.trimmingCharacters(in: .whitespaces)) else {
            throw APIProblem.validation("\(field) must be an event id (decimal digits, at most 18)", field: field)
        }
        return value
    }
}

/// The bytes of one event stream: a greeting, the replay from history after the resume id, then live events
/// from the hub, heartbeats while idle, and a final `end` event when the server ends it.
///
/// Written as SSE text here rather than with swift-openapi-runtime's `asEncodedServerSentEvents()`, because
/// that encoder cannot write comments, and heartbeats must be comments (an `event:` without `data:` is still
/// parsed by some clients). Each event is one `id:` and one `data:` line of compact JSON (never multi-line),
/// rendered once for all streams (`EventLineCache`).
struct EventStream: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let runtime: SockpitRuntime
    let lines: EventLineCache
    let filter: EventFilter
    let resumeAfter: Int64?
    /// The stream's slot, held from the request until it subscribes (or given back if it never does).
    let admission: StreamAdmission
    /// Events per history page during the replay.
    static let pageSize = 500

    /// Cancels the hub subscription when the iterator goes away, whichever way the stream ended, and ends it
    /// when the stream reaches its longest allowed life.
    final class Attachment: Sendable {
        let subscription: EventSubscription
        let expiry: Task<Void, Never>?

        init(_ subscription: EventSubscription, maxDuration: Duration?) {
            self.subscription = subscription
            expiry = maxDuration.map { duration in
                Task { [subscription] in
                    guard (try? await Task.sleep(for: duration)) != nil else { return }
                    subscription.end(.maxDuration)
                }
            }
        }

        deinit {
            expiry?.cancel()
            subscription.cancel()
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        enum Phase { case greeting, replay, attach, live, done }
        let runtime: SockpitRuntime
        let lines: EventLineCache
        let filter: EventFilter
        let admission: StreamAdmission
        var phase = Phase.greeting
        /// The newest event id written to the stream (or the resume id): nothing at or below it is sent again.
        var lastSent: Int64
        var replaying: Bool
        var attachment: Attachment?

        mutating func next() async throws -> ArraySlice<UInt8>? {
            while true {
                switch phase {
                case .greeting:
                    // Live-only streams subscribe before greeting: an event committed after the client has read
                    // `: connected` is always delivered. Resuming streams subscribe after their replay (`attach`).
                    if replaying {
                        phase = .replay
                    } else {
                        attach()
                    }
                    return ArraySlice("retry: 2000\n: connected\n\n".utf8)
                case .replay:
                    let page = try await runtime.events(filter.query(after: lastSent, limit: EventStream.pageSize))
                    if page.items.count < EventStream.pageSize { phase = .attach }
                    if let chunk = encode(page.items) { return chunk }
                case .attach:
                    // Subscribe first, then read what history committed meanwhile: an event is either in that
                    // read or published after the subscription began (ids dedupe the overlap), never neither.
                    attach()
                    var caughtUp = false
                    var chunk: ArraySlice<UInt8> = []
                    while !caughtUp {
                        let page = try await runtime.events(filter.query(after: lastSent, limit: EventStream.pageSize))
                        caughtUp = page.items.count < EventStream.pageSize
                        if let more = encode(page.items) { chunk += more }
                    }
                    if !chunk.isEmpty { return chunk }
                case .live:
                    guard let subscription = attachment?.subscription else { phase = .done; continue }
                    switch await subscription.next() {
                    case .events(let events):
                        if let chunk = encode(events) { return chunk }
                    case .heartbeat:
                        return ArraySlice(": heartbeat\n\n".utf8)
                    case .ended(let reason):
                        phase = .done
                        guard reason != .cancelled else { continue }
                        return ArraySlice("event: end\ndata: {\"last_event_id\":\"\(lastSent)\",\"reason\":\"\(reason.rawValue)\"}\n\n".utf8)
                    }
                case .done:
                    attachment = nil
                    return nil
                }
            }
        }

        /// Subscribes to the hub and goes live.
        mutating func attach() {
            attachment = Attachment(runtime.hub.subscribe(filter, admission: admission), maxDuration: runtime.streamSettings.maxDuration)
            phase = .live
        }

        /// SSE frames for the events not yet sent; nil when there are none.
        mutating func encode(_ events: [Event]) -> ArraySlice<UInt8>? {
            var bytes: [UInt8] = []
            for event in events where event.id > lastSent {
                bytes += "id: \(event.id)\ndata: ".utf8
                bytes += lines.line(for: event)
                bytes += "\n\n".utf8
                lastSent = event.id
            }
            return bytes.isEmpty ? nil : bytes[...]
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(runtime: runtime, lines: lines, filter: filter, admission: admission, lastSent: resumeAfter ?? 0,
                      replaying: resumeAfter != nil)
    }
}
