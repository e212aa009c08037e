/// Filters and paging for listing events.
public struct EventQuery: Sendable {
    public var socketID: String?
    public var probeID: String?
    public var op: String?
    public var outcome: String?
    /// Unix µs, inclusive.
    public var since: Int64?
    /// Unix µs, exclusive.
    public var until: Int64?
    /// Only events with a larger id.
    public var after: Int64?
    public var limit = 50
    /// The event id to continue after (exclusive), in the list's order.
    public var cursor: Int64?
    public var order = ListOrder.newestFirst

    /// Creates a query; every filter is optional.
    public init(socketID: String? = nil, probeID: String? = nil, op: String? = nil, outcome: String? = nil,
                since: Int64? = nil, until: Int64? = nil, limit: Int = 50, cursor: Int64? = nil,
                order: ListOrder = .newestFirst) {
        self.socketID = socketID
        self.probeID = probeID
        self.op = op
        self.outcome = outcome
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }
}

/// Where events are read from (they are written by the repositories of what they are about).
public protocol EventRepository: Sendable {
    /// Events matching the query, in its order.
    func list(_ query: EventQuery) async throws -> Page<EventRecord>
}
