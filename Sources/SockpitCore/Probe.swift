public import Storage

/// One probe run as the domain shows it.
public struct Probe: Sendable, Equatable {
    public var id: String
    /// tcp, udp, icmp or unix.
    public var kind: String
    /// The target as the client gave it.
    public var target: String
    /// The address it resolved to, once resolved.
    public var resolvedAddress: String?
    /// The network namespace it ran from; nil: the service's own.
    public var netns: String?
    /// The whole request, as recorded.
    public var request: Detail
    public var status: Status
    /// Once finished.
    public var outcome: Outcome?
    /// Why it is not a success (`kind`, `message`, `errno`).
    public var reason: Detail?
    /// Timed phases (`resolve_ms`, `connect_ms`, ...).
    public var phases: Detail?
    /// Aggregate figures (open/closed counts, loss, round trips).
    public var summary: Detail?
    /// Unix microseconds.
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var durationUs: Int64?

    /// Whether the probe still runs.
    public enum Status: String, Sendable {
        case running
        case finished
    }

    /// How a finished probe went.
    public enum Outcome: String, Sendable {
        case success
        case failure
        case partial
    }

    /// The probe a stored row describes; a status or outcome no version writes is an internal error.
    init(_ record: ProbeRecord) throws {
        guard let status = Status(rawValue: record.status) else {
            throw SockpitError(.internal, "stored probe \(record.id) has an unknown status '\(record.status)'")
        }
        var outcome: Outcome?
        if let raw = record.outcome {
            guard let known = Outcome(rawValue: raw) else {
                throw SockpitError(.internal, "stored probe \(record.id) has an unknown outcome '\(raw)'")
            }
            outcome = known
        }
        id = record.id
        kind = record.kind
        target = record.target
        resolvedAddress = record.resolvedAddress
        netns = record.netns
        request = record.request
        self.status = status
        self.outcome = outcome
        reason = record.reason
        phases = record.phases
        summary = record.summary
        startedAt = record.startedAt
        finishedAt = record.finishedAt
        durationUs = record.durationUs
    }
}

/// One attempt or port of a probe, or a run of consecutive closed ports.
public struct ProbeResult: Sendable, Equatable {
    /// Port number, or echo sequence number (the first of a run).
    public var position: Int
    /// The last position of a run this row stands for; nil for one position.
    public var lastPosition: Int?
    /// open, closed, filtered, open|filtered, reply, timeout, ...
    public var state: String
    public var rttUs: Int64?
    public var ttl: Int?
    public var bytes: Int?
    public var errno: String?
    /// Anything else (reply preview, expect verdict, ICMP type).
    public var detail: Detail?
    /// Unix microseconds.
    public var at: Int64

    /// The result a stored row describes.
    init(_ row: ProbeResultRecord) {
        position = row.position
        lastPosition = row.lastPosition
        state = row.state
        rttUs = row.rttUs
        ttl = row.ttl
        bytes = row.bytes
        errno = row.errno
        detail = row.detail
        at = row.at
    }
}

/// A probe with its rows, as the API shows it.
public struct ProbeView: Sendable {
    public var probe: Probe
    public var results: [ProbeResult]

    /// Pairs a probe with its rows.
    public init(probe: Probe, results: [ProbeResult]) {
        self.probe = probe
        self.results = results
    }

    /// The view of a stored probe and its rows.
    init(_ record: ProbeRecord, _ rows: [ProbeResultRecord]) throws {
        self.init(probe: try Probe(record), results: rows.map(ProbeResult.init))
    }
}
