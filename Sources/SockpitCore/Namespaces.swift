public import SocketKit
import Synchronization
import SystemPackage

/// What may name a network namespace (for the command line, which sees no SocketKit).
public enum NetworkNamespaceName {
    /// A file name under `/run/netns`: not empty, no `/` or NUL, not `.` or `..`.
    public static func isValid(_ name: String) -> Bool { NetworkNamespace.isValidName(name) }
}

/// The network namespaces sockets and probes may be made in (`netns`): none unless `--allow-netns` names them.
///
/// Each one is entered by a thread of its own (``NetworkNamespace``), opened on first use and kept while its
/// name still names it: a name deleted and made again is a new namespace, and the old one's thread ends once no
/// socket needs it.
public final class Namespaces: Sendable {
    /// The names allowed; `*` allows every namespace under `/run/netns`. Empty: the feature is off.
    public let allowed: [String]
    private let opened = Mutex<[String: NetworkNamespace]>([:])
    private let enteredAny = Atomic<Bool>(false)

    /// Whether a namespace thread was ever started: until one is, no thread of this process is anywhere but in
    /// its own namespace.
    public var anyEntered: Bool { enteredAny.load(ordering: .relaxed) }

    /// Allows the namespaces `allowed` names (`*`: all).
    public init(allowed: [String]) {
        self.allowed = allowed
    }

    /// The name a socket's namespace is shown by: nil for the service's own, the name of one opened here, else
    /// the kernel's `net:[INODE]` (a socket received from a process in another namespace).
    public func name(ofInode inode: UInt64) -> String? {
        if inode == Self.processInode { return nil }
        return opened.withLock { opened in opened.first { $0.value.inode == inode }?.key } ?? "net:[\(inode)]"
    }

    /// The inode of the service's own network namespace, read once at start.
    public static let processInode: UInt64 = (try? NetworkNamespace.processInode()) ?? 0

    /// Whether `name` may be used.
    public func allows(_ name: String) -> Bool {
        allowed.contains("*") || allowed.contains(name)
    }

    /// The namespaces under `/run/netns` that may be used now, sorted, with their inode numbers.
    public func list() -> [(name: String, inode: UInt64?)] {
        NetworkNamespace.names().filter(allows).map { ($0, try? NetworkNamespace.inode(of: $0)) }
    }

    /// The namespace `name` names, entered and ready, or why it cannot be used: 400 for a name that is no file
    /// name, 403 when not allowed (checked before it is looked for) or not enterable, 404 when there is none.
    public func open(_ name: String, field: String = "netns") throws -> NetworkNamespace {
        guard NetworkNamespace.isValidName(name) else {
            throw SockpitError(.invalid, "\(field) '\(name)' is not a namespace name: a file name under \(NetworkNamespace.directory), "
                + "not empty, no '/' or NUL, not . or ..", field: field)
        }
        guard allows(name) else {
            let how = allowed.isEmpty ? "namespaces are off; --allow-netns NAME (or *) turns them on"
                : "allowed: \(allowed.joined(separator: ", ")); --allow-netns NAME adds one"
            throw SockpitError(.forbidden, "\(field) '\(name)' is not allowed: \(how)", field: field)
        }
        let current: UInt64
        do { current = try NetworkNamespace.inode(of: name) } catch {
            throw SockpitError(.notFound, "\(field) '\(name)' does not exist: no \(NetworkNamespace.directory)/\(name) (ip netns add makes one)",
                               field: field, errno: error.name)
        }
        if let known = opened.withLock({ $0[name] }), known.inode == current { return known }
        let namespace: NetworkNamespace
        do { namespace = try NetworkNamespace(name: name) } catch {
            switch error {
            case .noSuchFileOrDirectory:
                throw SockpitError(.notFound, "\(field) '\(name)' does not exist", field: field, errno: error.name)
            case .notPermitted, .permissionDenied:
                throw SockpitError(.forbidden, "\(field) '\(name)' cannot be entered: setns needs CAP_SYS_ADMIN (\(error.name))",
                                   field: field, errno: error.name)
            case .invalidArgument:
                throw SockpitError(.notFound, "\(field) '\(name)' is not a network namespace", field: field, errno: error.name)
            default:
                throw SockpitError.system(error, during: "entering network namespace \(name)")
            }
        }
        return opened.withLock { opened in
            // Another request may have opened it meanwhile: keep one thread per namespace.
            if let known = opened[name], known.inode == namespace.inode { return known }
            // Forget namespaces whose names are gone or name another one now: their threads end once no socket
            // holds them (a socket keeps its namespace alive in the kernel, not through this thread).
            opened = opened.filter { (try? NetworkNamespace.inode(of: $0.key)) == $0.value.inode }
            opened[name] = namespace
            enteredAny.store(true, ordering: .relaxed)
            return namespace
        }
    }
}
