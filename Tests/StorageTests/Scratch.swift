import Foundation
import Logging
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
