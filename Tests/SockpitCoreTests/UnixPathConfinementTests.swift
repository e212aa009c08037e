import Foundation
import Glibc
import SockpitCore
import Testing

/// `UnixPathConfinement` on real temporary directories with real symbolic links: every refusal leaves the
/// filesystem as it was, inside and outside the sockets directory.
@Suite struct UnixPathConfinementTests {
    /// A temporary tree: `base/sockets` (the confinement, made by the test) beside `base/outside`.
    struct Tree {
        let base: String
        let outside: String
        var sockets: String { base + "/sockets" }

        init() throws {
            let made = FileManager.default.temporaryDirectory.appendingPathComponent("upc-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: made + "/outside", withIntermediateDirectories: true)
            // The confinement reports real paths: compare against the real path of the temporary directory.
            guard let real = realpath(made, nil) else { throw POSIXError(.ENOENT) }
            base = String(cString: real)
            free(real)
            outside = base + "/outside"
            _ = FileManager.default.createFile(atPath: outside + "/target.sock", contents: Data("x".utf8))
        }

        /// Every entry below `path` with its kind and link target, to compare before and after.
        func snapshot(_ path: String) throws -> [String] {
            let manager = FileManager.default
            return try manager.subpathsOfDirectory(atPath: path).sorted().map { entry in
                let full = path + "/" + entry
                let type = try manager.attributesOfItem(atPath: full)[.type] as? FileAttributeType
                let link = (try? manager.destinationOfSymbolicLink(atPath: full)).map { " -> \($0)" } ?? ""
                return "\(entry) \(type?.rawValue ?? "?")\(link)"
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: base) }
    }

    /// Runs `body` with a fresh tree and a confinement on `tree.sockets`, removing the tree afterwards.
    func withTree(_ body: (Tree, UnixPathConfinement) throws -> Void) throws {
        let tree = try Tree()
        defer { tree.remove() }
        try body(tree, try UnixPathConfinement(directory: tree.sockets))
    }

    @Test("init creates a missing directory and its parents with mode 0700 and keeps the real path")
    func initCreatesDirectory() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let nested = tree.base + "/a/b/sockets"
        let confinement = try UnixPathConfinement(directory: nested + "/")
        #expect(confinement.directory == nested)
        for path in [tree.base + "/a", tree.base + "/a/b", nested] {
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(status.st_mode & S_IFMT == S_IFDIR)
            #expect(status.st_mode & 0o777 == 0o700, "\(path)")
        }
    }

    @Test("init through a symbolic link keeps the directory's real path; an existing file is refused")
    func initResolvesRealPath() throws {
        let tree = try Tree()
        defer { tree.remove() }
        try FileManager.default.createSymbolicLink(atPath: tree.base + "/link", withDestinationPath: tree.outside)
        #expect(try UnixPathConfinement(directory: tree.base + "/link").directory == tree.outside)
        let error = #expect(throws: SockpitError.self) {
            try UnixPathConfinement(directory: tree.outside + "/target.sock")
        }
        #expect(error?.detail.contains("not a directory") == true)
    }

    @Test("relative names, './' and absolute paths inside resolve to a path inside the directory")
    func acceptedNames() throws {
        try withTree { tree, confinement throws in
            #expect(try confinement.resolve("app.sock", field: "path") == tree.sockets + "/app.sock")
            #expect(try confinement.resolve("./app.sock", field: "path") == tree.sockets + "/app.sock")
            #expect(try confinement.resolve(tree.sockets + "/app.sock", field: "path") == tree.sockets + "/app.sock")
            #expect(try confinement.resolve(tree.sockets + "//x.sock", field: "path") == tree.sockets + "/x.sock")
        }
    }

    @Test("a name in an existing nested subdirectory is accepted, also through a link that stays inside")
    func nestedSubdirectory() throws {
        try withTree { tree, confinement throws in
            try FileManager.default.createDirectory(atPath: tree.sockets + "/sub/deeper", withIntermediateDirectories: true)
            #expect(try confinement.resolve("sub/deeper/app.sock", field: "path") == tree.sockets + "/sub/deeper/app.sock")
            #expect(try confinement.resolve(tree.sockets + "/sub/app.sock", field: "path") == tree.sockets + "/sub/app.sock")
            try FileManager.default.createSymbolicLink(atPath: tree.sockets + "/inner", withDestinationPath: "sub/deeper")
            #expect(try confinement.resolve("inner/app.sock", field: "path") == tree.sockets + "/sub/deeper/app.sock")
        }
    }

    /// Each refusal names the field, says why, and creates nothing anywhere.
    @Test("refused names fail as invalid with the reason and leave both directories unchanged", arguments: [
        ("", "must not be empty"),
        ("a\u{0}b.sock", "must not contain a NUL byte"),
        ("../outside/new.sock", "'..' is not allowed"),
        ("sub/../app.sock", "'..' is not allowed"),
        ("..", "'..' is not allowed"),
        // A combining mark after '/' makes one Swift Character of both, but the kernel still sees a separator:
        // names are split at '/' bytes (found by `make fuzz`).
        ("../\u{06DF}new.sock", "'..' is not allowed"),
        ("sub/\u{0301}../\u{0301}../x.sock", "there is no directory"),
        ("OUTSIDE/\u{0301}new.sock", "is outside the sockets directory"),
        ("OUTSIDE/new.sock", "is outside the sockets directory"),
        ("/etc/new.sock", "is outside the sockets directory"),
        ("SOCKETS-sibling.sock", "is outside the sockets directory"),
        ("escape/new.sock", "leads outside the sockets directory through a symbolic link"),
        ("escape/../x.sock", "'..' is not allowed"),
        ("link.sock", "is a symbolic link"),
        ("dangling.sock", "is a symbolic link"),
        ("inside-link.sock", "is a symbolic link"),
        ("missing/app.sock", "there is no directory 'missing'"),
        ("file/app.sock", "'file' is not a directory"),
        (".", "names the sockets directory itself"),
        ("SOCKETS", "names the sockets directory itself"),
        ("sub/", "ends with '/'"),
        ("sub/.", "ends with '/'"),
        (String(repeating: "n", count: 110), "a Unix socket path has at most 107 bytes"),
    ])
    func refusals(name: String, why: String) throws {
        try withTree { tree, confinement throws in
            try FileManager.default.createDirectory(atPath: tree.sockets + "/sub", withIntermediateDirectories: false)
            _ = FileManager.default.createFile(atPath: tree.sockets + "/file", contents: Data())
            _ = FileManager.default.createFile(atPath: tree.sockets + "/inside.sock", contents: Data())
            let manager = FileManager.default
            try manager.createSymbolicLink(atPath: tree.sockets + "/escape", withDestinationPath: tree.outside)
            try manager.createSymbolicLink(atPath: tree.sockets + "/link.sock", withDestinationPath: tree.outside + "/target.sock")
            try manager.createSymbolicLink(atPath: tree.sockets + "/dangling.sock", withDestinationPath: tree.outside + "/nothing.sock")
            try manager.createSymbolicLink(atPath: tree.sockets + "/inside-link.sock", withDestinationPath: "inside.sock")
            let name = name.replacingOccurrences(of: "OUTSIDE", with: tree.outside)
                .replacingOccurrences(of: "SOCKETS", with: tree.sockets)
            let outsideBefore = try tree.snapshot(tree.outside)
            let socketsBefore = try tree.snapshot(tree.sockets)
            let baseBefore = try tree.snapshot(tree.base)

            let error = #expect(throws: SockpitError.self) { try confinement.resolve(name, field: "address.path") }
            #expect(error?.kind == .invalid)
            #expect(error?.field == "address.path")
            #expect(error?.detail.contains(why) == true, "\(error?.detail ?? "")")

            #expect(try tree.snapshot(tree.outside) == outsideBefore)
            #expect(try tree.snapshot(tree.sockets) == socketsBefore)
            #expect(try tree.snapshot(tree.base) == baseBefore)
        }
    }

    /// The 107-byte limit is sun_path's: a name that just fits resolves, and binds a real socket there.
    @Test("a path of exactly 107 bytes is accepted and binds a real socket inside the directory")
    func longestPathBinds() throws {
        try withTree { tree, confinement throws in
            let room = 107 - (tree.sockets.utf8.count + 1)
            let path = try confinement.resolve(String(repeating: "s", count: room), field: "path")
            #expect(path.utf8.count == 107)
            #expect(throws: SockpitError.self) { try confinement.resolve(String(repeating: "s", count: room + 1), field: "path") }

            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { bytes in
                for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(result == 0)
            #expect(try tree.snapshot(tree.sockets).first?.hasPrefix(String(repeating: "s", count: room) + " ") == true)
            // An existing socket (not a link) may be named again, to connect to it.
            #expect(try confinement.resolve(String(repeating: "s", count: room), field: "path") == path)
        }
    }

    @Test("displayName maps paths inside to the name that resolves back to them, and paths outside to nil")
    func displayNameRoundTrip() throws {
        try withTree { tree, confinement throws in
            try FileManager.default.createDirectory(atPath: tree.sockets + "/sub", withIntermediateDirectories: false)
            for name in ["app.sock", "sub/app.sock"] {
                let path = try confinement.resolve(name, field: "path")
                let shown = try #require(confinement.displayName(for: path))
                #expect(shown == name)
                #expect(try confinement.resolve(shown, field: "path") == path)
            }
            #expect(confinement.displayName(for: tree.outside + "/target.sock") == nil)
            #expect(confinement.displayName(for: tree.sockets + "-sibling/app.sock") == nil)
            #expect(confinement.displayName(for: tree.sockets) == nil)
            #expect(confinement.displayName(for: tree.sockets + "/../outside/target.sock") == nil)
            #expect(confinement.displayName(for: "relative.sock") == nil)
        }
    }
}
