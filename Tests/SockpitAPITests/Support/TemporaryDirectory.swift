import Foundation

/// A fresh, uniquely named directory under the system temporary directory, for one test's SQLite file.
///
/// Removed by `remove()`, which the test helpers call whether the test passed or threw.
struct TemporaryDirectory: Sendable {
    /// The directory's absolute path.
    let path: String

    /// Creates the directory.
    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("SockpitAPITests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory (not created).
    func file(_ name: String) -> String { path + "/" + name }

    /// Deletes the directory and everything in it (the database, its WAL and shared-memory files).
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
