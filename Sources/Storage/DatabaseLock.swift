import CSQLite
import Glibc

/// One server per database: an exclusive `flock` on the database file itself, held by the history writer for
/// as long as it runs. A second process (or a second writer in this one) is refused at start, clearly.
///
/// The lock is on the file SQLite already keeps, so nothing is ever created or removed for it: no window in
/// which a stopping server has unlocked a lock file that a starting one has not yet replaced. (`flock` locks
/// are independent of the `fcntl` locks SQLite takes on the same file.)
final class DatabaseLock: @unchecked Sendable {
    private let path: String
    /// The descriptor holding the lock; only touched under the writer's state lock.
    private var fd: CInt = -1

    init(databasePath: String) {
        path = databasePath
    }

    deinit {
        assert(fd < 0, "database lock of \(path) still held at deinit")
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Takes the lock, or throws a `DatabaseError` (SQLITE_BUSY) naming the file when another holds it.
    func acquire() throws {
        guard fd < 0, path != ":memory:" else { return }
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DatabaseError(extendedCode: SQLITE_IOERR, message: "cannot open \(path) to lock it: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            _ = Glibc.close(descriptor)
            if code == EWOULDBLOCK {
                throw DatabaseError(extendedCode: SQLITE_BUSY,
                                    message: "another sockpit server is using this database (\(path) is locked); stop it or use another --data-dir")
            }
            throw DatabaseError(extendedCode: SQLITE_IOERR, message: "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        fd = descriptor
    }

    /// Releases the lock (closing the descriptor); a second call does nothing.
    func release() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }
}
