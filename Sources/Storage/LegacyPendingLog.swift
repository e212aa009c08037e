import CSQLite
import Glibc

/// Versions before the group-commit writer kept acknowledged history in `<database>-pending` until they applied
/// it to SQLite; a process killed with `kill -9` left it there for its next start. This version does not read
/// that format: rather than lose it silently, it refuses to start and says how to apply it.
enum LegacyPendingLog {
    /// Removes an empty leftover; throws, naming the file, when it still holds history.
    static func check(databasePath: String) throws {
        let path = databasePath + "-pending"
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_size > 0 else {
            _ = unlink(path)
            return
        }
        throw DatabaseError(
            extendedCode: SQLITE_BUSY,
            message: "\(path) holds \(info.st_size) bytes of history acknowledged by an older sockpit that were not yet "
                + "written to the database. Start that older version once on this data directory and stop it cleanly "
                + "(it writes the history and removes the file), then start this one. Nothing was changed.")
    }
}
