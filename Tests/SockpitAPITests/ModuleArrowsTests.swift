import Foundation
import Testing

/// STYLE.md's arrows, checked on the sources: each module imports only the project modules below it. SwiftPM
/// lets a module import anything its dependencies depend on, so without this check an arrow breaks silently.
@Suite struct ModuleArrowsTests {
    /// The project modules each module may import. `sockpit` assembles the runtime from its configuration, so
    /// it names SockpitCore's settings types (`SocketPolicy`, `HistoryFile`, ...) besides the wiring.
    static let allowed: [String: Set<String>] = [
        "SocketKit": ["CLinux"],
        "Storage": ["CSQLite"],
        "SockpitCore": ["SocketKit", "Storage"],
        "HTTPServer": ["CMicroHTTPD"],
        "SockpitAPI": ["SockpitCore"],
        "SockpitServer": ["SockpitAPI", "SockpitCore", "HTTPServer"],
        "sockpit": ["SockpitServer", "SockpitAPI", "SockpitCore", "HTTPServer"],
        "SockpitFuzz": ["SockpitCore"],
    ]

    static let projectModules: Set<String> = Set(allowed.keys).union(["CLinux", "CSQLite", "CMicroHTTPD"])

    @Test("Every module imports only the project modules its arrows allow")
    func importsFollowTheArrows() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var checked = 0
        for (module, allowed) in Self.allowed {
            let directory = sources.appendingPathComponent(module)
            let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
            #expect(!files.isEmpty, "no sources found for \(module)")
            for file in files {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), index <= 2, index + 1 < words.count else { continue }
                    let imported = String(words[index + 1])
                    guard Self.projectModules.contains(imported) else { continue }
                    checked += 1
                    #expect(allowed.contains(imported), "\(module)/\(file) imports \(imported)")
                }
            }
        }
        #expect(checked > 20)
    }
}
