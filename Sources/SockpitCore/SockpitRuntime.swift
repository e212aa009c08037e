public import FoundationEssentials
public import Logging
public import Storage

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
    private let startedAt: Date
    private let startedInstant: ContinuousClock.Instant
    private let logger: Logger

    /// Wraps an opened, migrated database and the capabilities probed at start.
    public init(database: Database, schemaVersion: Int, capabilities: CapabilityReport, policy: SocketPolicy, logger: Logger) {
        self.database = database
        self.schemaVersion = schemaVersion
        self.capabilities = capabilities
        self.logger = logger
        self.sockets = SocketRegistry(repository: SQLiteHistory(database: database), policy: policy, logger: logger)
        self.startedAt = Date()
        self.startedInstant = .now
    }

    /// Liveness and database status; a failing database makes the report degraded, not an error.
    public func health() async -> HealthReport {
        var ok = false
        do {
            ok = try database.read { try $0.scalar("SELECT 1", []) } == .integer(1)
        } catch {
            logger.warning("health check query failed", metadata: ["error": "\(error)"])
        }
        return HealthReport(
            databaseOK: ok, version: SockpitVersion.current, startedAt: startedAt,
            uptime: ContinuousClock.now - startedInstant, databasePath: database.path, schemaVersion: schemaVersion)
    }

    /// Prepares history at start: sessions a dead process left open are closed as `server-crash`.
    public func start() async throws {
        try await sockets.recoverAbandonedSessions()
    }

    /// Closes what the runtime owns; called once the HTTP server has stopped.
    public func shutdown() async {
        await sockets.closeAll()
        do {
            try database.close()
            logger.info("database closed", metadata: ["db.path": "\(database.path)"])
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
        }
    }
}
