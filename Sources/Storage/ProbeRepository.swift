/// One probe run as stored.
public struct ProbeRecord: Sendable, Equatable {
    /// Internal order; 0 until inserted.
    public var seq: Int64 = 0
    public var id: String
    /// tcp | udp | icmp | unix.
    public var kind: String
    /// The target as the client gave it.
    public var target: String
    public var resolvedAddress: String?
    /// The network namespace it runs from; nil: the service's own.
    public var netns: String?
    /// The whole request.
    public var request: Detail
    /// running | finished.
    public var status: String
    /// success | failure | partial, once finished.
    public var outcome: String?
    /// Why it is not a success.
    public var reason: Detail?
    /// Timed phases.
    public var phases: Detail?
    /// Aggregate figures.
    public var summary: Detail?
    /// Unix microseconds.
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var durationUs: Int64?

    /// Creates a running probe.
    public init(id: String, kind: String, target: String, request: Detail, startedAt: Int64) {
        self.id = id
        self.kind = kind
        self.target = target
        self.request = request
        self.status = "running"
        self.startedAt = startedAt
    }
}

/// One attempt or port of a probe, or a run of consecutive ports with the same verdict.
public struct ProbeResultRecord: Sendable, Equatable {
    /// Port number, or echo sequence number (the first of a run).
    public var position: Int
    /// The last position of a run this row stands for; nil for one position.
    public var lastPosition: Int?
    public var state: String
    public var rttUs: Int64?
    public var ttl: Int?
    public var bytes: Int?
    public var errno: String?
    /// Anything else (reply preview, expect verdict, ICMP type).
    public var detail: Detail?
    /// Unix microseconds.
    public var at: Int64

    /// Creates a result row.
    public init(position: Int, state: String, rttUs: Int64? = nil, ttl: Int? = nil, bytes: Int? = nil,
                errno: String? = nil, detail: Detail? = nil, at: Int64) {
        self.position = position
        self.state = state
        self.rttUs = rttUs
        self.ttl = ttl
        self.bytes = bytes
        self.errno = errno
        self.detail = detail
        self.at = at
    }
}

/// Filters and paging for listing probes.
public struct ProbeQuery: Sendable {
    public var kind: String?
    public var target: String?
    public var outcome: String?
    public var status: String?
    /// Unix µs, inclusive, on started_at.
    public var since: Int64?
    /// Unix µs, exclusive, on started_at.
    public var until: Int64?
    public var limit = 50
    public var cursor: Int64?
    public var order = ListOrder.newestFirst

    /// Creates a query; every filter is optional.
    public init(kind: String? = nil, target: String? = nil, outcome: String? = nil, status: String? = nil,
                since: Int64? = nil, until: Int64? = nil, limit: Int = 50, cursor: Int64? = nil, order: ListOrder = .newestFirst) {
        self.kind = kind
        self.target = target
        self.outcome = outcome
        self.status = status
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }
}

/// Where probes, their results and their events are kept.
public protocol ProbeRepository: Sendable {
    /// Queues the insertion of a running probe and its start event (one transaction) and returns at once; the
    /// probe's later writes queue behind it. `runsMeanwhile`: the probe runs before this commits (its caller waits
    /// for the result), so a failed commit keeps the write queued like the result's; otherwise the caller waits
    /// for the commit before it runs the probe, and a failed commit stores nothing.
    func start(_ probe: ProbeRecord, event: EventRecord, runsMeanwhile: Bool) -> QueuedWrite<EventRecord>
    /// Throws `HistoryUnavailable` while the last commit failed: checked before a probe acts.
    func checkWritable() throws
    /// Saves the finished probe, its result rows not saved yet and its finish event in one transaction.
    func finish(_ probe: ProbeRecord, results: [ProbeResultRecord], event: EventRecord) async throws -> EventRecord
    /// Saves result rows of a probe still running (a traceroute's hop as it arrives) and their event.
    func progress(_ probeID: String, results: [ProbeResultRecord], event: EventRecord) async throws -> EventRecord
    /// The probe with this id.
    func findProbe(id: String) async throws -> ProbeRecord?
    /// A probe's result rows in position order (then insertion order).
    func results(ofProbe id: String) async throws -> [ProbeResultRecord]
    /// Probes matching the query, in its order.
    func list(_ query: ProbeQuery) async throws -> Page<ProbeRecord>
    /// Marks probes still running (their process died) as finished with outcome failure, reason server-crash.
    func abandonRunningProbes(at: Int64) async throws -> Int
}
