import FoundationEssentials
public import Logging
public import Storage
import Synchronization

/// The domain root: owns the database and what was learned about the host at start. The API layer asks it
/// questions; it knows nothing of HTTP.
public final class SockpitRuntime: Sendable {
    /// The open history database.
    let database: Database
    /// The history file's path.
    public var databasePath: String { database.path }
    /// Capabilities found at start.
    public let capabilities: CapabilityReport
    /// Schema version after migrating at start.
    public let schemaVersion: Int
    /// The managed sockets.
    public let sockets: SocketRegistry
    /// The probe runner.
    public let probes: ProbeRunner
    /// The host's interfaces, addresses, routes and neighbours (netlink).
    public let host: HostNetwork
    /// Live subscribers of committed events (event streams).
    public let hub: EventHub
    /// How event streams behave.
    public let streamSettings: StreamSettings
    /// Rolling counts of the last hour, for the stats view.
    public let activity: ActivityWindows
    /// Prometheus metrics.
    public let metrics: ServiceMetrics
    /// Background pruning of old history.
    public let retention: RetentionRunner
    /// The history: every write goes through its writer (one thread, group commit).
    let history: SQLiteHistory
    private let startedAt: Date
    private let startedInstant: ContinuousClock.Instant
    private let logger: Logger
    private let databaseOK = Atomic<Bool>(false)
    private let prober = Mutex<Task<Void, Never>?>(nil)
    private let checkpointer = Mutex<WALCheckpointer?>(nil)

    /// Wraps an opened, migrated history file and the capabilities probed at start; closes the file at shutdown.
    public init(history file: HistoryFile, capabilities: CapabilityReport, policy: SocketPolicy,
                probeLimits: ProbeLimits = ProbeLimits(), streams: StreamSettings = StreamSettings(),
                retention: RetentionSettings = RetentionSettings(), logger: Logger) {
        let database = file.database
        self.database = database
        self.schemaVersion = file.schemaVersion
        self.capabilities = capabilities
        self.logger = logger
        let hub = EventHub(bufferLimit: streams.bufferLimit, heartbeatInterval: streams.heartbeatInterval)
        let activity = ActivityWindows()
        let metrics = ServiceMetrics()
        self.hub = hub
        self.streamSettings = streams
        self.activity = activity
        self.metrics = metrics
        // Every committed batch, in id order: live streams, the stats windows and the counters.
        let writer = HistoryWriter(database: database, logger: logger) { records in
            let events = records.map(Event.init)
            hub.publish(events)
            activity.record(events)
            metrics.record(events)
        }
        let history = SQLiteHistory(writer: writer)
        self.history = history
        self.retention = RetentionRunner(settings: retention, history: history, logger: logger)
        self.sockets = SocketRegistry(repository: history, policy: policy, logger: logger)
        let registry = self.sockets
        self.host = HostNetwork(namespaces: policy.namespaces) { registry.openCookies() }
        self.probes = ProbeRunner(repository: history, policy: policy, limits: probeLimits, logger: logger) { probe in
            metrics.recordProbe(kind: probe.kind, outcome: probe.outcome?.rawValue ?? "failure",
                                duration: .microseconds(probe.durationUs ?? 0))
        }
        self.startedAt = Date()
        self.startedInstant = .now
    }

    /// Liveness and database status; a failing database makes the report degraded, not an error.
    /// Never waits: the database is probed once a second in the background (`start()`), so a liveness
    /// poll can be answered on an HTTP thread without ever queueing behind a write.
    public func health() -> HealthReport {
        HealthReport(
            databaseOK: databaseOK.load(ordering: .relaxed), version: SockpitVersion.current, startedAt: startedAt,
            uptime: ContinuousClock.now - startedInstant, databasePath: database.path, schemaVersion: schemaVersion)
    }

    /// Runs `SELECT 1` and remembers whether it answered.
    @discardableResult
    func probeDatabase() -> Bool {
        var ok = false
        do {
            ok = try database.read { try $0.scalar("SELECT 1", []) } == .integer(1)
        } catch {
            logger.warning("health check query failed", metadata: ["error": "\(error)"])
        }
        databaseOK.store(ok, ordering: .relaxed)
        return ok
    }

    /// Every recorded event matching the query (sockets and probes).
    public func events(_ query: EventQuery) async throws -> Page<Event> {
        try await history.list(query).map(Event.init)
    }

    /// Prepares history at start (sessions a dead process left open are closed as `server-crash`) and
    /// starts the once-a-second database probe behind `health()`.
    public func start() async throws {
        // One server per database; a history left by an older version is never ignored.
        try history.writer.start()
        // Checkpoints off the request path (a second connection, its own thread).
        let background = try WALCheckpointer(for: database, logger: logger)
        checkpointer.withLock { $0 = background }
        // Seeded before anything is written: from here on every committed event reaches the windows live.
        try await activity.seed(from: history, now: UnixTime.nowMicros())
        hub.start()
        try await sockets.recoverAbandonedSessions()
        try await probes.recoverAbandonedProbes()
        retention.start()
        probeDatabase()
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard !Task.isCancelled, let self else { return }
                self.probeDatabase()
            }
        }
        prober.withLock { $0 = task }
    }

    /// A slot for a new event stream, or 429 when `maxSubscribers` are open or admitted.
    public func admitStream() throws -> StreamAdmission {
        guard let admission = hub.admit(limit: streamSettings.maxSubscribers) else {
            throw SockpitError(.limit, "\(hub.streamCount) event streams are open, the most this server allows (--sse-max-subscribers \(streamSettings.maxSubscribers)); close one or raise the limit")
        }
        return admission
    }

    /// Ends every live event stream (reason `server-shutdown`); called when the server starts stopping, so
    /// that streams can say so before the transport cuts them.
    public func endStreams() { hub.shutdown() }

    /// Closes what the runtime owns; called once the HTTP server has stopped.
    public func shutdown() async {
        prober.withLock { $0?.cancel() }
        hub.shutdown()
        await retention.stop()
        await probes.shutdown()
        await sockets.closeAll()
        checkpointer.withLock { $0 }?.stop()
        history.writer.close()
        do {
            try database.close()
            logger.info("database closed", metadata: ["db.path": "\(database.path)"])
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
        }
    }

    /// What a dashboard shows at once: open sockets, recent activity, probes, bytes.
    public func stats() async throws -> ServiceStats {
        let now = UnixTime.nowMicros()
        return ServiceStats(
            at: now, openSockets: sockets.openCounts(), operationsInFlight: sockets.operationsInFlight, lastMinute: activity.totals(lastSeconds: 60, now: now),
            lastHour: activity.totals(lastSeconds: 3600, now: now), bytes: activity.byteTotals(),
            probes: try await history.probeOutcomes(), subscribers: hub.subscriberCount, lastEventID: hub.lastPublishedID)
    }

    /// The Prometheus exposition, with the present-state gauges refreshed.
    public func metricsExposition() -> [UInt8] {
        metrics.exposition(openSockets: sockets.openCounts(), databaseBytes: database.sizeInBytes(),
                           subscribers: hub.subscriberCount, history: history.writer.statistics)
    }
}

/// Settings of the live event streams.
public struct StreamSettings: Sendable {
    /// Most events a subscriber may fall behind before its stream ends (`slow-consumer`).
    public var bufferLimit: Int
    /// How often an idle stream gets a heartbeat comment.
    public var heartbeatInterval: Duration
    /// Longest life of one stream, after which it ends (`max-duration`) and the client resumes by id; nil: none.
    public var maxDuration: Duration?
    /// Most streams open at once; more are answered 429.
    public var maxSubscribers: Int

    /// Creates settings; the defaults are the service's embedded defaults. The buffer of a stream that is not
    /// behind is empty; a stuck one holds at most `bufferLimit` events (their text shared, not copied).
    public init(bufferLimit: Int = 2_000, heartbeatInterval: Duration = .seconds(15), maxDuration: Duration? = nil,
                maxSubscribers: Int = 256) {
        self.bufferLimit = bufferLimit
        self.heartbeatInterval = heartbeatInterval
        self.maxDuration = maxDuration
        self.maxSubscribers = maxSubscribers
    }
}

/// The stats view's figures, as the domain knows them.
public struct ServiceStats: Sendable {
    /// Unix µs when taken.
    public var at: Int64
    /// Open sockets by family, type and state.
    public var openSockets: [OpenSocketCount]
    /// Socket operations running now.
    public var operationsInFlight: Int
    /// Activity of the last 60 s.
    public var lastMinute: ActivityWindows.Totals
    /// Activity of the last hour.
    public var lastHour: ActivityWindows.Totals
    /// All-time payload bytes.
    public var bytes: (sent: Int64, received: Int64)
    /// Probes per outcome, `running` included.
    public var probes: [String: Int]
    /// Live event-stream subscribers.
    public var subscribers: Int
    /// The newest event id committed by this process (0 before any).
    public var lastEventID: Int64
}
