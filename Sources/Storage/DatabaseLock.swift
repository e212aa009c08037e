import CSQLite
import Glibc
import Synchronization

/// One server per database: an exclusive `flock` on the database file itself, held from `lockForWriting()` until
/// the database is closed. A second process (or a second writer in this one) is refused at start, clearly.
///
/// The lock is on the file SQLite already keeps, so nothing is ever created or removed for it: no window in
/// which a stopping server has unlocked a lock file that a starting one has not yet replaced. (`flock` locks
/// are independent of the `fcntl` locks SQLite takes on the same file.)
final class DatabaseLock: Sendable {
    private let path: String
    /// The descriptor holding the lock.
    private let fd = Mutex<CInt>(-1)

    init(databasePath: String) {
        path = databasePath
    }

    deinit {
        release()
    }

    /// Takes the lock, or throws a `DatabaseError` (SQLITE_BUSY) naming the file when another holds it.
    func acquire() throws {
        try fd.withLock { fd in
            guard fd < 0, path != ":memory:" else { return }
            fd = try Self.lock(path)
        }
    }

    private static func lock(_ path: String) throws -> CInt {
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
        return descriptor
    }

    /// Releases the lock (closing the descriptor); a second call does nothing.
    func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            _ = Glibc.close(fd)
            fd = -1
        }
    }
}
