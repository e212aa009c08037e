import Foundation
import Testing
@testable import Storage

/// The migrations compiled into the binary are exactly the files in the repository's Migrations/.
///
/// `Migrations.files` is a hand-written list (SwiftPM's generated `PackageResources` cannot be
/// enumerated); these tests are what keep it honest.
@Suite struct EmbeddedMigrationsTests {
    /// `<repo>/Migrations`, found from this file's own location: Tests/StorageTests/<this file>.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Migrations")

    /// Every non-hidden file in the directory, by name: SwiftPM embeds them all, `.sql` or not.
    static func filesOnDisk() throws -> [String: [UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }
        return try Dictionary(uniqueKeysWithValues: names.map { name in
            (name, [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
        })
    }

    @Test func embeddedMigrationsEqualTheMigrationsDirectory() throws {
        let onDisk = try Self.filesOnDisk()
        let embedded = Dictionary(uniqueKeysWithValues: Migrations.files.map { ($0.name, $0.contents) })
        #expect(!onDisk.isEmpty)
        #expect(embedded.keys.sorted() == onDisk.keys.sorted(),
                "add the new file to Migrations.files (PackageResources.<name>) — or remove the stale entry")
        for (name, contents) in onDisk.sorted(by: { $0.key < $1.key }) {
            // Compared to a Bool first, so a failure names the file instead of dumping both byte arrays.
            let identical = embedded[name] == contents
            #expect(identical, "\(name) differs from its embedded copy: rebuild, and never edit a landed migration")
        }
        let parsed = try onDisk.map { name, contents in try #require(Migration(fileName: name, contents: contents)) }
            .sorted { $0.version < $1.version }
        #expect(Migrations.embedded.map { "\($0.version) \($0.name)" } == parsed.map { "\($0.version) \($0.name)" })
        let sameSQL = Migrations.embedded.map(\.sql) == parsed.map(\.sql)
        #expect(sameSQL)
    }

    @Test func migrationFilesAreNamedWithFourDigitsAndASnakeCaseName() throws {
        for name in try Self.filesOnDisk().keys {
            #expect(name.wholeMatch(of: /[0-9]{4}_[a-z0-9_]+\.sql/) != nil, "\(name) is not NNNN_snake_case.sql")
        }
    }

    @Test func embeddedVersionsStartAtOneAndIncreaseWithoutGaps() {
        #expect(Migrations.embedded.map(\.version) == Array(1...Migrations.embedded.count))
    }

    @Test func fileNamesParseIntoVersionAndName() {
        #expect(Migration.parse(fileName: "0001_initial.sql")! == (1, "initial"))
        #expect(Migration.parse(fileName: "0012_add_probe_index.sql")! == (12, "add_probe_index"))
        #expect(Migration.parse(fileName: "initial.sql") == nil)
        #expect(Migration.parse(fileName: "0001_.sql") == nil)
        #expect(Migration.parse(fileName: "0000_zero.sql") == nil)
        #expect(Migration.parse(fileName: "0001_initial.txt") == nil)
    }
}
