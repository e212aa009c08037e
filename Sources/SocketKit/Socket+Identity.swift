import CLinux
import Glibc
public import SystemPackage

/// What a descriptor received from another process (`SCM_RIGHTS`) turned out to be.
public enum AdoptedDescriptor: Sendable {
    /// A socket, now owned by a ``Socket`` (non-blocking and close-on-exec, as every one here).
    case socket(Socket)
    /// Not a socket: the descriptor was closed. `kind` says what it was (`file`, `directory`, `pipe`,
    /// `character-device`, `block-device`, or the anonymous inode's name such as `pidfd`, `eventfd`).
    case notSocket(kind: String)
}

extension Socket {
    /// Takes ownership of a descriptor received with `SCM_RIGHTS`: a socket becomes a ``Socket`` with the
    /// family, type and protocol the kernel reports (`SO_DOMAIN`, `SO_TYPE`, `SO_PROTOCOL`); anything else is
    /// closed and named.
    ///
    /// The socket is made non-blocking, as every ``Socket`` is. `O_NONBLOCK` belongs to the open file, which
    /// the sender's descriptor shares: the sender sees it set on its copy too.
    ///
    /// - Throws: the kernel's `Errno` when the descriptor cannot be examined; it is closed either way.
    public static func adopt(received descriptor: FileDescriptor) throws(Errno) -> AdoptedDescriptor {
        let fd = descriptor.rawValue
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let failure = Errno(rawValue: errno)
            _ = Glibc.close(fd)
            throw failure
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            let kind = Self.kind(of: fd, mode: status.st_mode)
            _ = Glibc.close(fd)
            return .notSocket(kind: kind)
        }
        do {
            let family = try intOption(fd, SO_DOMAIN)
            let type = try intOption(fd, SO_TYPE)
            let proto = try intOption(fd, SO_PROTOCOL)
            let flags = try syscall { fcntl(fd, F_GETFL) }
            _ = try syscall { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
            return .socket(Socket(adopting: fd, family: AddressFamily(rawValue: family), type: SocketType(rawValue: type),
                                  protocol: SocketProtocol(rawValue: proto)))
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// The kernel's id of this socket (`SO_COOKIE`): the same through every descriptor of it, in any process,
    /// and never reused while the host runs.
    public func cookie() throws(Errno) -> UInt64 {
        try withUnsafeFileDescriptor { fd throws(Errno) in
            var value: UInt64 = 0
            var length = socklen_t(MemoryLayout<UInt64>.size)
            _ = try syscall { getsockopt(fd, SOL_SOCKET, CInt(SO_COOKIE), &value, &length) }
            return value
        }
    }

    /// Who is at the other end of a connected Unix socket (`SO_PEERCRED`): its pid, uid and gid when it
    /// connected (or when the pair was made); nil for other families or when not connected.
    public func peerCredentials() throws(Errno) -> Credentials? {
        guard family == .unix else { return nil }
        return try withUnsafeFileDescriptor { fd throws(Errno) in
            var value = sockpit_ucred(pid: 0, uid: 0, gid: 0)
            var length = socklen_t(MemoryLayout<sockpit_ucred>.size)
            _ = try syscall { getsockopt(fd, SOL_SOCKET, CInt(SO_PEERCRED), &value, &length) }
            // An unconnected socket answers pid 0 and uid/gid -1 (overflowuid) rather than an error.
            guard value.pid != 0 else { return nil }
            return Credentials(pid: value.pid, uid: value.uid, gid: value.gid)
        }
    }

    /// Whether the socket listens (`SO_ACCEPTCONN`).
    public func isListening() throws(Errno) -> Bool {
        try withUnsafeFileDescriptor { fd throws(Errno) in try Self.intOption(fd, SO_ACCEPTCONN) != 0 }
    }

    /// `getsockopt(2)` of an `int` at `SOL_SOCKET` on a bare descriptor.
    private static func intOption(_ fd: CInt, _ name: CInt) throws(Errno) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        _ = try syscall { getsockopt(fd, SOL_SOCKET, name, &value, &length) }
        return value
    }

    /// What a descriptor that is not a socket is, from its mode, or the anonymous inode's name
    /// (`/proc/self/fd/N` reads `anon_inode:[pidfd]`).
    private static func kind(of fd: CInt, mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "file"
        case S_IFDIR: return "directory"
        case S_IFIFO: return "pipe"
        case S_IFCHR: return "character-device"
        case S_IFBLK: return "block-device"
        default: break
        }
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return "unknown" }
        let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("anon_inode:") {
            var name = target.dropFirst("anon_inode:".count)
            if name.hasPrefix("["), name.hasSuffix("]") { name = name.dropFirst().dropLast() }
            return String(name)
        }
        return "unknown"
    }
}
