import CSQLite

extension Database {
    /// The SQLite library version linked in, e.g. "3.40.1".
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }
}
