import Foundation
import Logging
import SockpitCore
import Storage

/// A fresh, migrated SQLite history in its own temporary directory, with a registry over it.
struct History {
    /// The directory holding the database file.
    let directory: String
    /// The open, migrated database.
    let database: Database
    /// The registry under test, over `SQLiteHistory` on `database`.
    let registry: SocketRegistry

    /// Creates the directory and database; the registry allows `maxOpenSockets` open sockets under `targets`.
    init(maxOpenSockets: Int, targets: TargetPolicy = TargetPolicy(allow: [], deny: [], defaultDeny: [])) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("SockpitCoreTests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var opened: Database?
        do {
            let database = try Database(path: directory + "/sockpit.sqlite", logger: .quiet)
            opened = database
            _ = try Migrator().migrate(database)
            try database.enableWAL()
            let policy = SocketPolicy(
                targets: targets,
                unixPaths: try UnixPathConfinement(directory: directory + "/sockets"), maxOpenSockets: maxOpenSockets)
            registry = SocketRegistry(repository: SQLiteHistory(database: database), policy: policy, logger: .quiet)
            self.database = database
        } catch {
            try? opened?.close()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Closes what is still open, the database, and removes the directory.
    func tearDown() async {
        await registry.closeAll()
        try? database.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The rows of `sql`, read straight from the file.
    func query(_ sql: String, _ bindings: [SQLValue] = []) throws -> [Row] {
        try database.read { try $0.query(sql, bindings) }
    }
}

/// Runs `body` with a fresh history and registry, tearing them down whether `body` returned or threw.
func withHistory<T>(maxOpenSockets: Int = 1024, targets: TargetPolicy = TargetPolicy(allow: [], deny: [], defaultDeny: []),
                    _ body: (History) async throws -> T) async throws -> T {
    let history = try History(maxOpenSockets: maxOpenSockets, targets: targets)
    do {
        let result = try await body(history)
        await history.tearDown()
        return result
    } catch {
        await history.tearDown()
        throw error
    }
}

extension Logger {
    /// A logger that drops everything, so test output shows test results only.
    static let quiet = Logger(label: "SockpitCoreTests") { _ in SwiftLogNoOpLogHandler() }
}
