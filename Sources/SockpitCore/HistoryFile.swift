public import Logging
import Storage

/// The history database file, claimed for this process and migrated: what a runtime is built on. `sockpit
/// serve`, `sockpit migrate` and every test harness open it this one way.
public struct HistoryFile: Sendable {
    let database: Database
    /// The schema version after migrating.
    public let schemaVersion: Int
    /// How many migrations this open applied.
    public let applied: Int

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { Migrator().latestVersion }
    /// The SQLite library linked in, e.g. "3.46.1".
    public static var sqliteVersion: String { Database.sqliteVersion }
    /// The file's path.
    public var path: String { database.path }

    /// Opens the file at `path` (created when missing) and claims it: a second server on it is refused, naming
    /// the file, and so is acknowledged history an older version left beside it. Then migrates it and turns
    /// on WAL. The error's message says which of these stopped it.
    public static func open(path: String, logger: Logger) throws(HistoryFileError) -> HistoryFile {
        let database: Database
        do { database = try Database(path: path, logger: logger) } catch {
            throw HistoryFileError("cannot open the database \(path): \(error)")
        }
        do { try database.lockForWriting() } catch {
            try? database.close()
            throw HistoryFileError((error as? DatabaseError)?.message ?? "\(error)")
        }
        do {
            let migrator = Migrator()
            let before = try migrator.currentVersion(of: database)
            let after = try migrator.migrate(database)
            try database.enableWAL()
            return HistoryFile(database: database, schemaVersion: after, applied: after - before)
        } catch {
            try? database.close()
            if let error = error as? MigrationError { throw HistoryFileError("\(error)") }
            throw HistoryFileError("cannot open the database \(path): \(error)")
        }
    }

    /// Closes the file (a runtime built on it closes it at shutdown).
    public func close() throws { try database.close() }
}

/// Why the history file could not be opened, in one sentence for the command line.
public struct HistoryFileError: Error, CustomStringConvertible {
    /// What stopped it, naming the file.
    public let message: String

    init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
