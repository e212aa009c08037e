import CSQLite
import Glibc

/// The append-only file beside the database (`<database>-pending`) that holds history the service has
/// acknowledged but not yet applied to SQLite. One `write(2)` per record: once it returns, the record is in
/// the kernel and survives the process being killed (`kill -9`); the next start applies it to SQLite.
///
/// Not thread-safe: `HistoryWriter` calls it under its append lock only. Owns its descriptor (STYLE.md
/// rule 5): opened once, closed in exactly one place. The descriptor holds an exclusive `flock`, so a second
/// process on the same database fails at start instead of writing events with the same ids.
final class PendingLog {
    let path: String
    private var fd: CInt = -1
    /// Bytes in the file (records are only ever appended, or the file emptied).
    private(set) var size = 0

    init(path: String) {
        self.path = path
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Opens (creating) the file and returns what it holds.
    func open() throws -> [UInt8] {
        precondition(fd < 0, "pending log opened twice")
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("open", errno) }
        // One process per database: a second one would hand out the same event ids.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            _ = Glibc.close(descriptor)
            if code == EWOULDBLOCK {
                throw DatabaseError(extendedCode: SQLITE_BUSY,
                                    message: "another sockpit process is using this database (\(path) is locked)")
            }
            throw Self.failure("lock", code)
        }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.pread(descriptor, $0.baseAddress, $0.count, off_t(contents.count)) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                let code = errno
                _ = Glibc.close(descriptor)  // not opened, so a later try starts afresh
                throw Self.failure("read", code)
            }
            if count == 0 { break }
            contents += chunk[..<count]
        }
        fd = descriptor
        size = contents.count
        return contents
    }

    /// Appends one record, whole: a short write is continued, an interrupted one retried.
    func append(_ record: [UInt8]) throws {
        guard fd >= 0 else { throw Self.failure("write", EBADF) }
        var written = 0
        while written < record.count {
            let count = record.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, record.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let code = errno
                // Leave no partial record behind a failed one: the file ends where it ended.
                if written > 0 { _ = ftruncate(fd, off_t(size)) }
                throw Self.failure("write", code)
            }
            written += count
        }
        size += record.count
    }

    /// Empties the file: everything in it is in SQLite now.
    func truncate() throws {
        guard fd >= 0 else { return }
        guard ftruncate(fd, 0) == 0 else { throw Self.failure("truncate", errno) }
        size = 0
    }

    /// Closes the file and, when asked, removes it (a clean stop leaves nothing pending).
    func close(removing: Bool) {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
        if removing { _ = unlink(path) }
    }

    private static func failure(_ operation: String, _ code: CInt) -> DatabaseError {
        DatabaseError(extendedCode: SQLITE_IOERR, message: "pending history log \(operation) failed: \(String(cString: strerror(code)))")
    }
}
