import CSQLite
import Logging

/// Brings a database's schema up to the newest migration this binary knows (STYLE.md rule 12).
///
/// Applied versions live in `schema_migrations`, which the migrator creates itself. Each migration
/// runs with its bookkeeping row in one `BEGIN IMMEDIATE` transaction, so it is applied entirely or
/// not at all, and two processes migrating at once cannot apply one twice.
public struct Migrator: Sendable {
    /// The known migrations, sorted by version.
    public let migrations: [Migration]

    /// Creates a migrator; versions must be unique and positive (a duplicate is a programming error).
    public init(migrations: [Migration] = Migrations.embedded) {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (earlier, later) in zip(sorted, sorted.dropFirst()) {
            precondition(earlier.version != later.version, "two migrations have version \(later.version)")
        }
        precondition(sorted.first.map { $0.version > 0 } ?? true, "migration versions start at 1")
        self.migrations = sorted
    }

    /// The version `migrate` leads to; 0 without migrations.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The database's schema version: the highest applied migration, 0 for an empty database.
    public func currentVersion(of db: Database) throws -> Int {
        try db.read { try Self.version(in: $0) }
    }

    /// Applies every migration newer than the database, in order; returns the resulting version.
    ///
    /// Reads the version first and throws `MigrationError.schemaTooNew` before writing anything, so a
    /// newer sockpit's database is left byte-for-byte as it was. Migrating an up-to-date database
    /// writes nothing. A failing migration throws `MigrationError.failed` and leaves no trace;
    /// those before it stay applied.
    @discardableResult
    public func migrate(_ db: Database) throws -> Int {
        let logger = db.logger
        return try db.withConnection { connection in
            let found = try Self.version(in: connection)
            guard found <= latestVersion else {
                logger.error("database schema is newer than this binary", metadata: [
                    "migration.found": "\(found)", "migration.known": "\(latestVersion)",
                ])
                throw MigrationError.schemaTooNew(found: found, known: latestVersion)
            }
            let pending = migrations.filter { $0.version > found }
            guard !pending.isEmpty else { return found }

            // Foreign keys are off while migrating, so that a future migration can rebuild a table
            // (SQLite's 12-step ALTER) without cascading deletes; each one is checked before COMMIT.
            // The PRAGMA is ignored inside a transaction, hence here; the lock keeps others out meanwhile.
            try connection.execute("PRAGMA foreign_keys = OFF")
            defer {
                do { try connection.execute("PRAGMA foreign_keys = ON") } catch {
                    logger.critical("could not re-enable foreign keys after migrating", metadata: ["db.error": "\(error)"])
                }
            }
            for migration in pending {
                try apply(migration, on: connection, logger: logger)
            }
            return try Self.version(in: connection)
        }
    }

    /// Runs one migration and records it, in one transaction.
    private func apply(_ migration: Migration, on connection: Connection, logger: Logger) throws {
        let metadata: Logger.Metadata = ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"]
        do {
            let applied = try connection.transaction { () throws -> Bool in
                try connection.execute(Self.createBookkeeping)
                // Re-read under the write lock: another process may have migrated since the first read.
                let current = try Self.version(in: connection)
                guard current <= latestVersion else {
                    throw MigrationError.schemaTooNew(found: current, known: latestVersion)
                }
                guard current < migration.version else { return false }
                try connection.execute(migration.sql)
                guard connection.isInTransaction else {
                    throw DatabaseError.misuse("a migration must not contain BEGIN, COMMIT or ROLLBACK")
                }
                try Self.checkForeignKeys(connection)
                try connection.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    [.integer(Int64(migration.version)), .text(migration.name)]
                )
                return true
            }
            if applied { logger.info("applied migration", metadata: metadata) }
        } catch let error as DatabaseError {
            logger.error("migration failed", metadata: metadata.merging(["db.error": "\(error)"]) { $1 })
            throw MigrationError.failed(version: migration.version, name: migration.name, underlying: error)
        }
    }

    /// The bookkeeping table; `applied_at` is RFC 3339 UTC text, for people reading the file.
    static let createBookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )
        """

    /// The highest applied version, without creating anything: 0 when `schema_migrations` is absent.
    static func version(in connection: Connection) throws -> Int {
        let exists = try connection.scalar(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ) != nil
        guard exists else { return 0 }
        return Int(try connection.scalar("SELECT max(version) FROM schema_migrations")?.int ?? 0)
    }

    /// Fails when rows point at missing parents, which `foreign_keys = OFF` let through.
    private static func checkForeignKeys(_ connection: Connection) throws {
        // Columns: table, rowid, parent table, foreign key index.
        let violations = try connection.query("PRAGMA foreign_key_check")
        guard let first = violations.first else { return }
        throw DatabaseError(
            extendedCode: sockpit_sqlite_constraint_foreignkey,
            message: "\(violations.count) foreign key violation(s), first: \(first[0]) rowid \(first[1]) → \(first[2])",
            sql: "PRAGMA foreign_key_check"
        )
    }
}
