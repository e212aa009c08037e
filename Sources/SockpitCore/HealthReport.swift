public import FoundationEssentials

/// What `GET /v1/health` reports: the service is up, and whether its database answers.
public struct HealthReport: Sendable {
    /// True when the database answered a query just now.
    public var databaseOK: Bool
    /// Sockpit's version.
    public var version: String
    /// When the service started.
    public var startedAt: Date
    /// How long the service has been up.
    public var uptime: Duration
    /// Absolute path of the SQLite file.
    public var databasePath: String
    /// Highest migration applied.
    public var schemaVersion: Int
}
