import Glibc
import SocketKit
import SystemPackage

/// The byte that separates path components.
private let slash = UInt8(ascii: "/")

/// Keeps the filesystem Unix sockets that clients name inside one sockets directory.
///
/// A network namespace does not isolate filesystem Unix sockets: without this, a client could bind over or
/// connect to any socket the service can reach (a container runtime's, the system bus). Names are checked
/// without following a symbolic link out of the directory, and nothing is created while checking. The
/// directory is made 0700 so that only this service creates entries in it: the check and the later `bind`
/// or `connect` are two steps, and no one else can swap a subdirectory for a link between them.
public struct UnixPathConfinement: Sendable {
    /// The sockets directory's real path (`realpath`): no symbolic links, no trailing slash.
    public let directory: String

    /// Uses `directory`, creating it and missing parents with mode 0700 first.
    ///
    /// An existing directory is used as it is (its mode is not changed). Fails when the path is not a
    /// directory or cannot be created or resolved.
    public init(directory: String) throws(SockpitError) {
        guard !directory.isEmpty, !directory.utf8.contains(0) else {
            throw SockpitError(.invalid, "the sockets directory must be a non-empty path without NUL bytes")
        }
        try Self.makeDirectories(directory)
        guard let real = Self.realPath(directory) else {
            throw .system(Errno(rawValue: errno), during: "resolving the sockets directory '\(directory)'")
        }
        guard Self.isDirectory(real) else {
            throw SockpitError(.invalid, "the sockets directory '\(directory)' exists and is not a directory")
        }
        self.directory = real
    }

    /// Maps a client's name to an absolute path inside the directory, without creating anything.
    ///
    /// Accepted: a relative name (`app.sock`, `sub/app.sock` when `sub` exists inside) or an absolute path
    /// inside the directory. Refused with `SockpitError(.invalid, detail, field: field)`: an empty name, a
    /// NUL byte, a `..` component, an absolute path outside, a parent that is missing, not a directory or
    /// whose real path leaves the directory, a final component that is a symbolic link (wherever it
    /// points), and a result longer than the 107 bytes of `sun_path`.
    public func resolve(_ name: String, field: String) throws(SockpitError) -> String {
        func refuse(_ why: String) -> SockpitError { SockpitError(.invalid, why, field: field) }

        guard !name.isEmpty else { throw refuse("a Unix socket name must not be empty") }
        guard !name.utf8.contains(0) else { throw refuse("a Unix socket name must not contain a NUL byte") }
        let parts = Self.split(name)
        guard !parts.contains(where: Self.isParent) else {
            throw refuse("'\(name)': '..' is not allowed in a Unix socket name")
        }
        let relative: [String]
        if name.utf8.first == slash {
            guard let inside = Self.components(of: name, under: directory) else {
                throw refuse("'\(name)' is outside the sockets directory \(directory)")
            }
            relative = inside
        } else {
            relative = parts
        }
        let components = relative.filter { !Self.isCurrent($0) }
        guard let last = components.last else {
            throw refuse("'\(name)' names the sockets directory itself, not a socket inside it")
        }
        guard name.utf8.last != slash, !(parts.last.map(Self.isCurrent) ?? false) else {
            throw refuse("'\(name)' ends with '/' or '/.', which names a directory")
        }

        var parent = directory
        let parents = components.dropLast()
        if !parents.isEmpty {
            let shown = parents.joined(separator: "/")
            guard let real = Self.realPath(Self.join(directory, shown)) else {
                let failure = Errno(rawValue: errno)
                switch failure {
                case .noSuchFileOrDirectory:
                    throw refuse("'\(name)': there is no directory '\(shown)' in the sockets directory")
                case .notDirectory:
                    throw refuse("'\(name)': '\(shown)' is not a directory")
                default:
                    throw refuse("'\(name)': '\(shown)' cannot be resolved: \(failure.message) (\(failure.name))")
                }
            }
            guard Self.components(of: real, under: directory) != nil else {
                throw refuse("'\(name)': '\(shown)' leads outside the sockets directory through a symbolic link")
            }
            guard Self.isDirectory(real) else { throw refuse("'\(name)': '\(shown)' is not a directory") }
            parent = real
        }

        let path = Self.join(parent, last)
        let length = path.utf8.count
        guard length <= SocketAddressError.maximumUnixPathBytes else {
            throw refuse("'\(name)' becomes \(path), \(length) bytes long; a Unix socket path has at most "
                + "\(SocketAddressError.maximumUnixPathBytes) bytes (sun_path)")
        }
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK {
            throw refuse("'\(name)': '\(last)' is a symbolic link; links are refused wherever they point")
        }
        return path
    }

    /// The name to show clients for an absolute path inside the directory (relative to it); `nil` if outside.
    public func displayName(for absolutePath: String) -> String? {
        guard let components = Self.components(of: absolutePath, under: directory),
              !components.isEmpty, !components.contains(where: Self.isParent) else { return nil }
        return components.joined(separator: "/")
    }

    // MARK: Paths

    // Paths are bytes to the kernel, so they are split and compared as bytes here, never as Swift Characters:
    // a combining mark after '/' makes one Character of both ("/\u{06DF}" is not "/"), and "../\u{06DF}x" split
    // by Character has no '..' component while the kernel walks up a directory (found by `make fuzz`).

    /// The components of `path`, split at '/' bytes, empty ones left out.
    private static func split(_ path: String) -> [String] {
        path.utf8.split(separator: slash, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a component is exactly the bytes `..`.
    private static func isParent(_ component: String) -> Bool { component.utf8.elementsEqual("..".utf8) }

    /// Whether a component is exactly the byte `.`.
    private static func isCurrent(_ component: String) -> Bool { component.utf8.elementsEqual(".".utf8) }

    /// The components of `path` below `root`, lexically (`[]` for `root` itself); `nil` when not below it.
    private static func components(of path: String, under root: String) -> [String]? {
        let base = root == "/" ? "" : root
        let bytes = Array(path.utf8), prefix = Array(base.utf8) + [slash]
        if bytes.elementsEqual(root.utf8) { return [] }
        guard bytes.starts(with: prefix) else { return nil }
        return split(String(decoding: bytes[base.utf8.count...], as: UTF8.self))
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory == "/" ? "/" + name : directory + "/" + name
    }

    /// `realpath(3)`, or `nil` with `errno` set.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` is a directory, following links.
    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// `mkdir -p` with mode 0700 for each directory it creates.
    private static func makeDirectories(_ path: String) throws(SockpitError) {
        var prefix = path.utf8.first == slash ? "/" : ""
        for component in split(path) {
            prefix += prefix.isEmpty || prefix.utf8.last == slash ? component : "/" + component
            guard mkdir(prefix, 0o700) != 0 else { continue }
            let failure = Errno(rawValue: errno)
            // EEXIST: already there (a later check rejects a file); anything else is final.
            guard failure == .fileExists else {
                throw .system(failure, during: "creating the sockets directory '\(prefix)'")
            }
        }
    }
}
