public import FoundationEssentials
public import Logging
public import Storage
import Synchronization

/// The domain root: owns the database and what was learned about the host at start. The API layer asks it
/// questions; it knows nothing of HTTP.
public final class SockpitRuntime: Sendable {
    /// The open history database.
    public let database: Database
    /// Capabilities found at start.
    public let capabilities: CapabilityReport
    /// Schema version after migrating at start.
    public let schemaVersion: Int
    /// The managed sockets.
    public let sockets: SocketRegistry
    /// The probe runner.
    public let probes: ProbeRunner
    private let startedAt: Date
    private let startedInstant: ContinuousClock.Instant
    private let logger: Logger
    private let databaseOK = Atomic<Bool>(false)
    private let prober = Mutex<Task<Void, Never>?>(nil)

    /// Wraps an opened, migrated database and the capabilities probed at start.
    public init(database: Database, schemaVersion: Int, capabilities: CapabilityReport, policy: SocketPolicy,
                probeLimits: ProbeLimits = ProbeLimits(), logger: Logger) {
        self.database = database
        self.schemaVersion = schemaVersion
        self.capabilities = capabilities
        self.logger = logger
        self.sockets = SocketRegistry(repository: SQLiteHistory(database: database), policy: policy, logger: logger)
        self.probes = ProbeRunner(repository: SQLiteHistory(database: database), policy: policy, limits: probeLimits, logger: logger)
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
    public func events(_ query: EventQuery) async throws -> Page<EventRecord> {
        try await SQLiteHistory(database: database).list(query)
    }

    /// Prepares history at start (sessions a dead process left open are closed as `server-crash`) and
    /// starts the once-a-second database probe behind `health()`.
    public func start() async throws {
        try await sockets.recoverAbandonedSessions()
        try await probes.recoverAbandonedProbes()
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

    /// Closes what the runtime owns; called once the HTTP server has stopped.
    public func shutdown() async {
        prober.withLock { $0?.cancel() }
        await probes.shutdown()
        await sockets.closeAll()
        do {
            try database.close()
            logger.info("database closed", metadata: ["db.path": "\(database.path)"])
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
        }
    }
}
