import CLinux
import Dispatch
import Glibc
import Synchronization
public import SystemPackage

/// A named network namespace (`/run/netns/NAME`, as `ip netns add` makes them), with the one OS thread that
/// lives in it.
///
/// A socket belongs to the namespace of the thread that called `socket(2)`, for its whole life; everything
/// else done with it later works from any thread. `setns(2)` moves only the calling thread, so it happens once,
/// on a thread of the namespace's own that never leaves it and runs nothing but short calls handed to it
/// (``perform(_:)``): never on an HTTP thread or Swift's cooperative pool, whose next task would find itself in
/// another namespace.
public final class NetworkNamespace: Sendable {
    /// Where `ip netns` keeps its names.
    public static let directory = "/run/netns"

    /// The name under ``directory``.
    public let name: String
    /// The namespace's inode number, as `/proc/PID/ns/net` and ``Socket/namespaceInode()`` report it.
    public let inode: UInt64
    private let thread: NamespaceThread

    /// Opens `/run/netns/NAME` and starts the namespace's thread in it.
    ///
    /// - Throws: `EINVAL` for a name that is not a plain file name or names something that is not a network
    ///   namespace, `ENOENT` for an unknown one, `EPERM` when this process may not enter it (`CAP_SYS_ADMIN`).
    public init(name: String) throws(Errno) {
        guard Self.isValidName(name) else { throw .invalidArgument }
        let fd = try syscall { open("\(Self.directory)/\(name)", O_RDONLY | O_CLOEXEC) }
        var status = stat()
        guard fstat(fd, &status) == 0, (try? syscall { sockpit_ns_type(fd) }) == CInt(SOCKPIT_CLONE_NEWNET) else {
            _ = Glibc.close(fd)
            throw .invalidArgument
        }
        self.inode = UInt64(status.st_ino)
        self.thread = try NamespaceThread(name: name, namespaceFD: fd)  // owns fd from here, failing or not
        self.name = name
    }

    deinit { thread.stop() }

    /// Runs `body` on the namespace's thread and returns what it returns: for the calls whose effect depends on
    /// the calling thread's namespace (`socket(2)`, `if_nametoindex`, `getifaddrs`). `body` must not block: the
    /// caller waits for it, as for any syscall.
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws(Errno) -> T) throws(Errno) -> T {
        try thread.run(body)
    }

    /// Runs `body` in `namespace` (on its thread), or on the calling thread, which is in the process's own, when nil.
    public static func run<T: Sendable>(in namespace: NetworkNamespace?, _ body: @escaping @Sendable () throws(Errno) -> T) throws(Errno) -> T {
        guard let namespace else { return try body() }
        return try namespace.perform(body)
    }

    /// Whether `name` can name a namespace: a file name (not empty, no `/` or NUL, not `.` or `..`); one too long for
    /// the file system is simply not found.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0) && !name.contains("/")
    }

    /// The names under ``directory`` now, sorted; none when it does not exist.
    public static func names() -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The inode of this process's own network namespace (its main thread's, `/proc/self/ns/net`).
    public static func processInode() throws(Errno) -> UInt64 {
        var status = stat()
        _ = try syscall { stat("/proc/self/ns/net", &status) }
        return UInt64(status.st_ino)
    }

    /// The inode of the namespace named `name` now (it changes when the name is deleted and made again).
    public static func inode(of name: String) throws(Errno) -> UInt64 {
        guard isValidName(name) else { throw .invalidArgument }
        var status = stat()
        _ = try syscall { stat("\(directory)/\(name)", &status) }
        return UInt64(status.st_ino)
    }
}

extension Socket {
    /// Opens a socket in `namespace` (on its thread), or, when nil, in this thread's, which is the process's own.
    public static func make(family: AddressFamily, type: SocketType, protocol: SocketProtocol = .default,
                            in namespace: NetworkNamespace?) throws(Errno) -> Socket {
        try NetworkNamespace.run(in: namespace) { () throws(Errno) in try Socket(family: family, type: type, protocol: `protocol`) }
    }

    /// The inode of the network namespace this socket was made in (`SIOCGSKNS`).
    ///
    /// - Throws: `EPERM` without `CAP_NET_ADMIN` over that namespace.
    public func namespaceInode() throws(Errno) -> UInt64 {
        try withUnsafeFileDescriptor { fd throws(Errno) in
            let namespace = try syscall { sockpit_socket_netns(fd) }
            defer { _ = Glibc.close(namespace) }
            var status = stat()
            _ = try syscall { fstat(namespace, &status) }
            return UInt64(status.st_ino)
        }
    }
}

/// The OS thread of one namespace: enters it once, then runs the calls handed to it, in order, until stopped.
private final class NamespaceThread: Sendable {
    private let jobs = Mutex<(queue: [@Sendable () -> Void], stopped: Bool)>(([], false))
    /// A blocking eventfd the thread sleeps on; a write wakes it.
    private let wake: CInt
    private let namespaceFD: CInt

    /// Starts the thread and waits until it has entered the namespace (or failed to). Owns `namespaceFD`: it
    /// is closed when the thread ends, or at once when there is no thread.
    init(name: String, namespaceFD: CInt) throws(Errno) {
        self.namespaceFD = namespaceFD
        do { wake = try syscall { eventfd(0, CInt(EFD_CLOEXEC)) } } catch {
            _ = Glibc.close(namespaceFD)
            throw error
        }
        let info = Start(thread: self, name: name)
        do { try DetachedThread.start { info.thread.main(info) } } catch {
            _ = Glibc.close(wake)
            _ = Glibc.close(namespaceFD)
            throw error
        }
        info.entered.wait()
        let code = info.outcome.withLock { $0 }
        guard code == 0 else { throw Errno(rawValue: code) }  // the thread has exited and closed its descriptors
    }

    /// What the new thread needs at its start.
    private final class Start: Sendable {
        let thread: NamespaceThread
        let name: String
        /// Signalled once the thread is in the namespace, or failed to enter it (`outcome`: 0 or the errno).
        let entered = DispatchSemaphore(value: 0)
        let outcome = Mutex<CInt>(0)
        init(thread: NamespaceThread, name: String) {
            self.thread = thread
            self.name = name
        }
    }

    private func main(_ start: Start) {
        _ = sockpit_set_thread_name(String(decoding: "netns:\(start.name)".utf8.prefix(15), as: UTF8.self))
        let result = sockpit_setns(namespaceFD, CInt(SOCKPIT_CLONE_NEWNET))
        let failure = result == 0 ? 0 : errno
        start.outcome.withLock { $0 = failure }
        start.entered.signal()
        if failure == 0 { loop() }
        _ = Glibc.close(wake)
        _ = Glibc.close(namespaceFD)
    }

    private func loop() {
        while true {
            var value: UInt64 = 0
            _ = read(wake, &value, MemoryLayout<UInt64>.size)  // EINTR: look at the queue anyway
            let (batch, stopped) = jobs.withLock { state in
                defer { state.queue.removeAll() }
                return (state.queue, state.stopped)
            }
            for job in batch { job() }
            if stopped { return }
        }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wake, &one, MemoryLayout<UInt64>.size)
    }

    /// Runs `body` on the thread and waits for it.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(Errno) -> T) throws(Errno) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, Errno>?>(nil)
        let accepted = jobs.withLock { state in
            guard !state.stopped else { return false }
            state.queue.append {
                let outcome = Result { () throws(Errno) in try body() }
                result.withLock { $0 = outcome }
                done.signal()
            }
            return true
        }
        guard accepted else { throw .badFileDescriptor }
        signal()
        done.wait()
        return try result.withLock { $0 }!.get()
    }

    /// Ends the thread after the calls already handed to it.
    func stop() {
        jobs.withLock { $0.stopped = true }
        signal()
    }
}
