/// Filters and paging for listing socket sessions.
public struct SocketQuery: Sendable {
    public var state: String?
    public var family: String?
    public var type: String?
    public var label: String?
    /// Only sessions made in this network namespace.
    public var netns: String?
    /// Only sessions still open (closed_at IS NULL); combines with `state`.
    public var openOnly = false
    public var limit = 50
    /// The `seq` to continue after (exclusive), in the list's order.
    public var cursor: Int64?
    public var order = ListOrder.newestFirst

    /// Creates a query; every filter is optional.
    public init(state: String? = nil, family: String? = nil, type: String? = nil, label: String? = nil,
                netns: String? = nil, limit: Int = 50, cursor: Int64? = nil, order: ListOrder = .newestFirst) {
        self.state = state
        self.family = family
        self.type = type
        self.label = label
        self.netns = netns
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }
}

/// Where socket sessions and their events are kept.
public protocol SocketRepository: Sendable {
    /// Inserts a new session and its first event in one transaction; returns the stored event.
    func create(_ socket: SocketRecord, event: EventRecord) async throws -> EventRecord
    /// Saves the session's row and appends an event in one transaction; returns the stored event.
    /// With `previous`, only what changed is written (counters alone leave the indexed columns untouched).
    func record(_ socket: SocketRecord, previous: SocketRecord?, event: EventRecord) async throws -> EventRecord
    /// The session with this id, open or closed.
    func find(id: String) async throws -> SocketRecord?
    /// Sessions matching the query, in its order.
    func list(_ query: SocketQuery) async throws -> Page<SocketRecord>
    /// Throws `HistoryUnavailable` while history cannot be written: checked before an operation acts.
    func checkWritable() throws
    /// Marks every session still open as closed with `reason` (each with a close event); returns their ids.
    /// Used at start (a previous process died) and at shutdown.
    func closeAllOpen(reason: String, at: Int64) async throws -> [String]
}

extension SocketRepository {
    /// Saves the whole row and appends an event.
    public func record(_ socket: SocketRecord, event: EventRecord) async throws -> EventRecord {
        try await record(socket, previous: nil, event: event)
    }
}
