import Foundation
import Logging
import Synchronization
@testable import Storage

/// A fresh temporary directory per test, removed when the test lets go of it; real files, no mocks.
final class Scratch {
    /// The directory's path.
    let directory: String

    /// Creates a new, empty, uniquely named directory under the system temporary directory.
    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("StorageTests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The path of `name` inside the directory (not created).
    func path(_ name: String = "test.sqlite") -> String { directory + "/" + name }

    /// Opens (creating) a database file in the directory.
    func open(_ name: String = "test.sqlite") throws -> Database {
        try Database(path: path(name), logger: .quiet)
    }

    /// The bytes of a file in the directory, to prove something did not touch it.
    func bytes(_ name: String = "test.sqlite") throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path(name)))
    }
}

extension Logger {
    /// A logger that drops everything, so test output shows test results only.
    static let quiet = Logger(label: "StorageTests") { _ in SwiftLogNoOpLogHandler() }
}

extension Connection {
    /// Names of the user tables, sorted; for schema assertions.
    func tableNames() throws -> [String] {
        try query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .compactMap { $0[0].string }
    }
}

/// A migrated WAL database in a scratch directory and its history writer, whose observer collects every batch
/// of events it is given (in the order given).
final class WriterFixture: @unchecked Sendable {
    let scratch: Scratch
    let database: Database
    let writer: HistoryWriter
    let observed = Observed()

    /// What the observer was given.
    final class Observed: Sendable {
        let batches = Mutex<[[EventRecord]]>([])
        /// Every observed event id, in order.
        var ids: [Int64] { batches.withLock { $0.flatMap { $0.map(\.id) } } }
    }

    init(scratch: Scratch) throws {
        self.scratch = scratch
        database = try scratch.open()
        _ = try Migrator().migrate(database)
        try database.enableWAL()
        let observed = observed
        writer = HistoryWriter(database: database, logger: .quiet) { batch in observed.batches.withLock { $0.append(batch) } }
    }

    convenience init() throws { try self.init(scratch: Scratch()) }

    deinit {
        writer.close()
        try? database.close()
    }

    var history: SQLiteHistory { SQLiteHistory(writer: writer) }
}
