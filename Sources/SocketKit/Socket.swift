import Glibc
import Synchronization
public import SystemPackage

/// The one owner of a socket file descriptor.
///
/// The descriptor is private and closed in exactly one place (``close()``; a socket dropped without closing
/// is a leak that `deinit` reports on stderr and counts in ``leaks``, then releases). Work on it goes through ``withUnsafeFileDescriptor(_:)``,
/// which throws `EBADF` once the socket is closed, so a stale number is never used.
///
/// Thread safety: ``close()`` may race with work on other threads. A close that arrives while a closure
/// is still using the descriptor marks the socket closed at once (new calls get `EBADF`) and leaves the
/// actual `close(2)` to the last closure to finish, so the number cannot be reused by the kernel for an
/// unrelated file while someone is still using it. Sockets are always non-blocking and close-on-exec.
public final class Socket: Sendable {
    /// The family the socket was created with.
    public let family: AddressFamily

    /// The type the socket was created with.
    public let type: SocketType

    /// The protocol the socket was created with.
    public let `protocol`: SocketProtocol

    private enum State {
        /// Usable; `borrowers` closures are using the descriptor right now.
        case open(fd: CInt, borrowers: Int)
        /// Closed for callers; the last borrower releases the descriptor.
        case closing(fd: CInt, borrowers: Int)
        /// The descriptor is gone.
        case closed
    }

    private let state: Mutex<State>

    /// Opens a new socket with `socket(2)`, non-blocking and close-on-exec.
    ///
    /// - Throws: the kernel's `Errno`, such as `EAFNOSUPPORT`, `EPROTONOSUPPORT`, `ESOCKTNOSUPPORT`
    ///   or `EPERM`/`EACCES` for a kind the process may not open.
    public convenience init(
        family: AddressFamily, type: SocketType, protocol: SocketProtocol = .default
    ) throws(Errno) {
        let fd = try syscall { Glibc.socket(family.rawValue, type.rawValue | SocketType.creationFlags, `protocol`.rawValue) }
        self.init(adopting: fd, family: family, type: type, protocol: `protocol`)
    }

    /// Takes ownership of a descriptor the kernel just handed over (`socket`, `socketpair`, `accept4`).
    init(adopting fd: CInt, family: AddressFamily, type: SocketType, protocol: SocketProtocol) {
        self.family = family
        self.type = type
        self.protocol = `protocol`
        state = Mutex(.open(fd: fd, borrowers: 0))
    }

    /// Creates a connected pair of Unix sockets with `socketpair(2)`, non-blocking and close-on-exec.
    ///
    /// - Throws: the kernel's `Errno`, such as `EOPNOTSUPP` for a type Unix sockets lack (`raw`).
    public static func pair(type: SocketType) throws(Errno) -> (Socket, Socket) {
        var fds: (CInt, CInt) = (-1, -1)
        _ = try withUnsafeMutableBytes(of: &fds) { (bytes) throws(Errno) -> CInt in
            let pointer = bytes.baseAddress!.assumingMemoryBound(to: CInt.self)
            return try syscall { socketpair(AF_UNIX, type.rawValue | SocketType.creationFlags, 0, pointer) }
        }
        return (Socket(adopting: fds.0, family: .unix, type: type, protocol: .default),
                Socket(adopting: fds.1, family: .unix, type: type, protocol: .default))
    }

    /// Whether ``close()`` has not been called yet.
    public var isOpen: Bool {
        state.withLock { if case .open = $0 { true } else { false } }
    }

    /// Lends the raw descriptor to `body`, which must neither close it nor keep it.
    ///
    /// - Throws: `Errno.badFileDescriptor` when the socket is closed, else whatever `body` throws.
    public func withUnsafeFileDescriptor<R>(_ body: (CInt) throws(Errno) -> R) throws(Errno) -> R {
        let fd = try borrow()
        defer { returnBorrowed() }
        return try body(fd)
    }

    /// Lends the descriptor until `returnBorrowed()`; every call is balanced by exactly one of those.
    func borrow() throws(Errno) -> CInt {
        try state.withLock { (state) throws(Errno) -> CInt in
            guard case .open(let fd, let borrowers) = state else { throw .badFileDescriptor }
            state = .open(fd: fd, borrowers: borrowers + 1)
            return fd
        }
    }

    /// Closes the socket; every later use, including a second close, throws `EBADF`.
    ///
    /// - Throws: `Errno.badFileDescriptor` when already closed; the rare `EIO` from `close(2)` itself.
    ///   Either way the descriptor is released and the socket stays closed.
    public func close() throws(Errno) {
        let fd = try state.withLock { (state) throws(Errno) -> CInt? in
            switch state {
            case .open(let fd, 0):
                state = .closed
                return fd
            case .open(let fd, let borrowers):
                state = .closing(fd: fd, borrowers: borrowers)
                return nil
            case .closing, .closed:
                throw .badFileDescriptor
            }
        }
        if let fd { try release(fd) }
    }

    func returnBorrowed() {
        let fd = state.withLock { state -> CInt? in
            switch state {
            case .open(let fd, let borrowers):
                state = .open(fd: fd, borrowers: borrowers - 1)
                return nil
            case .closing(let fd, 1):
                state = .closed
                return fd
            case .closing(let fd, let borrowers):
                state = .closing(fd: fd, borrowers: borrowers - 1)
                return nil
            case .closed:
                preconditionFailure("a borrowed socket descriptor was released while still lent")
            }
        }
        // A deferred close has no caller left to hear of a failure, and the descriptor is gone regardless.
        if let fd { try? release(fd) }
    }

    /// The one place a descriptor is closed.
    private func release(_ fd: CInt) throws(Errno) {
        try closeDescriptor(fd)
    }

    /// Sockets released while still open, since start: each is a bug (an owner that forgot `close()`).
    public static var leaks: Int { leaked.load(ordering: .relaxed) }
    private static let leaked = Atomic<Int>(0)

    deinit {
        // Nothing can be borrowing: every borrower holds a reference to `self`.
        if case .open(let fd, _) = state.withLock({ $0 }) {
            // A leak of ownership: said and counted (never silent); the descriptor is still released.
            Self.leaked.add(1, ordering: .relaxed)
            let message = "sockpit: leak of an open socket (fd \(fd), \(family.name)/\(type.name)): released without close()\n"
            var bytes = Array(message.utf8)
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            try? release(fd)
        }
    }
}
