import Foundation

/// A fresh, uniquely named directory under /tmp for one test: the data directory of one service (its SQLite
/// file and its sockets directory) plus whatever the test puts next to it.
///
/// Kept short (`/tmp/e2e-<uuid>`) because a Unix socket path inside it must fit the 107 bytes of `sun_path`.
struct TemporaryDirectory: Sendable {
    /// The directory's real absolute path (no symbolic links), so that paths built from it compare equal
    /// to what the service reports.
    let path: String

    /// Creates the directory.
    init() throws {
        let raw = "/tmp/e2e-\(UUID().uuidString.lowercased())"
        try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
        path = URL(fileURLWithPath: raw).resolvingSymlinksInPath().path
    }

    /// The path of `name` inside the directory (not created).
    func file(_ name: String) -> String { path + "/" + name }

    /// Deletes the directory and everything in it.
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
