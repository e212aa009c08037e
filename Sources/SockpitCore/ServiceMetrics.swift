import CoreMetrics
import Prometheus
import Storage
import Synchronization

/// The service's Prometheus metrics, recorded through the swift-metrics API into a registry of its own
/// (no global bootstrap: several services can live in one process, as the tests run them).
///
/// Counters move with committed events (the history writer's observer), so they count exactly what history
/// holds; gauges that describe the present (open sockets, database size) are refreshed at scrape time.
public final class ServiceMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let operations = Mutex<[String: CoreMetrics.Counter]>([:])
    private let probeTimers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let httpTimers = Mutex<[TimerKey: CoreMetrics.Timer]>([:])

    /// A request timer's dimensions, as a key (no string is built per request to find the timer).
    private struct TimerKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }
    private let socketGauges = Mutex<[String: CoreMetrics.Gauge]>([:])
    private let bytesSent: CoreMetrics.Counter
    private let bytesReceived: CoreMetrics.Counter
    private let databaseBytes: CoreMetrics.Gauge
    private let subscribers: CoreMetrics.Gauge
    private let historyWrites: CoreMetrics.Counter
    private let historyCommits: CoreMetrics.Counter
    private let historyBusy: CoreMetrics.FloatingPointCounter
    /// The writer's totals at the last scrape (counters move by the difference).
    private let historySeen = Mutex<(writes: Int, commits: Int, busy: Duration)>((0, 0, .zero))

    /// Metric names, as scraped.
    enum Name {
        static let operations = "sockpit_operations_total"
        static let bytesSent = "sockpit_bytes_sent_total"
        static let bytesReceived = "sockpit_bytes_received_total"
        static let probeDuration = "sockpit_probe_duration_seconds"
        static let httpDuration = "sockpit_http_request_duration_seconds"
        static let openSockets = "sockpit_open_sockets"
        static let databaseBytes = "sockpit_database_size_bytes"
        static let subscribers = "sockpit_event_stream_subscribers"
        static let historyWrites = "sockpit_history_writes_total"
        static let historyCommits = "sockpit_history_commits_total"
        static let historyBusy = "sockpit_history_commit_seconds_total"
    }

    /// Creates the registry and the fixed metrics.
    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[Name.httpDuration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        factory.durationHistogramBuckets[Name.probeDuration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
        ]
        self.factory = factory
        bytesSent = CoreMetrics.Counter(label: Name.bytesSent, dimensions: [], factory: factory)
        bytesReceived = CoreMetrics.Counter(label: Name.bytesReceived, dimensions: [], factory: factory)
        databaseBytes = CoreMetrics.Gauge(label: Name.databaseBytes, dimensions: [], factory: factory)
        subscribers = CoreMetrics.Gauge(label: Name.subscribers, dimensions: [], factory: factory)
        historyWrites = CoreMetrics.Counter(label: Name.historyWrites, dimensions: [], factory: factory)
        historyCommits = CoreMetrics.Counter(label: Name.historyCommits, dimensions: [], factory: factory)
        historyBusy = CoreMetrics.FloatingPointCounter(label: Name.historyBusy, dimensions: [], factory: factory)
        // The usual kinds are always exposed (at 0 when none is open), so dashboards see the series from the start.
        let usual = [("inet", "stream"), ("inet", "dgram"), ("inet6", "stream"), ("inet6", "dgram"),
                     ("unix", "stream"), ("unix", "dgram"), ("unix", "seqpacket")]
        socketGauges.withLock { gauges in
            for (family, type) in usual {
                let gauge = CoreMetrics.Gauge(label: Name.openSockets, dimensions: [("family", family), ("type", type)], factory: factory)
                gauge.record(0)
                gauges[family + "/" + type] = gauge
            }
        }
    }

    /// Counts committed events: operations by op and outcome, payload bytes of sends and receives.
    public func record(_ events: [Event]) {
        var sent: Int64 = 0
        var received: Int64 = 0
        for event in events {
            counter(op: event.op, outcome: event.outcome.rawValue).increment()
            let payload = event.payload
            sent += payload.sent
            received += payload.received
        }
        if sent > 0 { bytesSent.increment(by: sent) }
        if received > 0 { bytesReceived.increment(by: received) }
    }

    /// Times one finished probe.
    public func recordProbe(kind: String, outcome: String, duration: Duration) {
        let key = kind + "\u{0}" + outcome
        let timer = probeTimers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: Name.probeDuration, dimensions: [("kind", kind), ("outcome", outcome)], factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Times one finished HTTP request; `route` is the path template (or "unmatched").
    public func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = TimerKey(route: route, method: method, status: status)
        let timer = httpTimers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(
                label: Name.httpDuration, dimensions: [("route", route), ("method", method), ("status", String(status))],
                factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// The exposition text, after refreshing the gauges that describe the present.
    public func exposition(openSockets: [OpenSocketCount], databaseBytes size: Int64, subscribers count: Int,
                           history: (writes: Int, commits: Int, busy: Duration)) -> [UInt8] {
        historySeen.withLock { seen in
            if history.writes > seen.writes { historyWrites.increment(by: Int64(history.writes - seen.writes)) }
            if history.commits > seen.commits { historyCommits.increment(by: Int64(history.commits - seen.commits)) }
            if history.busy > seen.busy {
                let delta = (history.busy - seen.busy).components
                historyBusy.increment(by: Double(delta.seconds) + Double(delta.attoseconds) / 1e18)
            }
            seen = history
        }
        socketGauges.withLock { gauges in
            var totals: [String: (family: String, type: String, count: Int)] = [:]
            for entry in openSockets {
                totals[entry.family + "/" + entry.type, default: (entry.family, entry.type, 0)].count += entry.count
            }
            for (key, gauge) in gauges where totals[key] == nil { gauge.record(0) }
            for (key, total) in totals {
                let gauge = gauges[key] ?? CoreMetrics.Gauge(
                    label: Name.openSockets, dimensions: [("family", total.family), ("type", total.type)], factory: factory)
                gauges[key] = gauge
                gauge.record(total.count)
            }
        }
        databaseBytes.record(size)
        subscribers.record(count)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        return buffer
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private func counter(op: String, outcome: String) -> CoreMetrics.Counter {
        let key = op + "\u{0}" + outcome
        return operations.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: Name.operations, dimensions: [("op", op), ("outcome", outcome)], factory: factory)
            counters[key] = counter
            return counter
        }
    }
}

/// How many sockets of one family and type are open (and in which state, for the stats view).
public struct OpenSocketCount: Sendable, Equatable {
    /// inet, inet6, unix, ...
    public var family: String
    /// stream, dgram, seqpacket, ...
    public var type: String
    /// The socket state, when counted by state.
    public var state: String?
    /// The network namespace, when counted by namespace; nil: the service's own.
    public var netns: String?
    /// How many.
    public var count: Int

    /// Creates a count.
    public init(family: String, type: String, state: String? = nil, netns: String? = nil, count: Int) {
        self.family = family
        self.type = type
        self.state = state
        self.netns = netns
        self.count = count
    }
}
