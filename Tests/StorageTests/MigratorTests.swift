import Foundation
import Testing
@testable import Storage

/// The migrator's contract (STYLE.md rule 12): ordered, idempotent, atomic, and hands off newer schemas.
@Suite struct MigratorTests {
    let scratch: Scratch
    let db: Database

    init() throws {
        scratch = try Scratch()
        db = try scratch.open()
    }

    /// Three migrations where each needs the previous one, given out of order on purpose.
    static let chain = [
        Migration(version: 3, name: "three", sql: "INSERT INTO b (a_id) SELECT id FROM a;"),
        Migration(version: 1, name: "one", sql: "CREATE TABLE a (id INTEGER PRIMARY KEY); INSERT INTO a VALUES (1);"),
        Migration(version: 2, name: "two", sql: "CREATE TABLE b (a_id INTEGER NOT NULL REFERENCES a (id));"),
    ]

    @Test func emptyDatabaseIsAtVersionZeroAndReadingItCreatesNothing() throws {
        #expect(try Migrator().currentVersion(of: db) == 0)
        #expect(try db.read { try $0.tableNames() } == [])
    }

    @Test func migrationsApplyInOrderAndTheVersionIsReported() throws {
        let migrator = Migrator(migrations: Self.chain)
        #expect(migrator.latestVersion == 3)
        #expect(try migrator.migrate(db) == 3)
        #expect(try migrator.currentVersion(of: db) == 3)
        let rows = try db.read { try $0.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version") }
        #expect(rows.map { $0["version"] } == [1, 2, 3])
        #expect(rows.map { $0["name"] } == ["one", "two", "three"])
        #expect(rows.allSatisfy { $0["applied_at"].string?.hasSuffix("Z") == true })
        #expect(try db.read { try $0.scalar("SELECT count(*) FROM b") } == 1)
    }

    @Test func embeddedMigrationsBringAnEmptyDatabaseToTheLatestVersion() throws {
        let migrator = Migrator()
        #expect(migrator.latestVersion == Migrations.embedded.last?.version)
        #expect(try migrator.migrate(db) == migrator.latestVersion)
        #expect(try db.read { try $0.scalar("PRAGMA foreign_keys") } == 1)   // back on after migrating
    }

    @Test func migratingTwiceIsANoOp() throws {
        try Migrator().migrate(db)
        try db.close()
        let before = try scratch.bytes()
        let reopened = try scratch.open()
        #expect(try Migrator().migrate(reopened) == Migrator().latestVersion)
        #expect(try reopened.read { try $0.scalar("SELECT count(*) FROM schema_migrations") } == .integer(Int64(Migrations.embedded.count)))
        try reopened.close()
        #expect(try scratch.bytes() == before)
    }

    @Test func laterMigrationsApplyOnTopOfEarlierOnes() throws {
        try Migrator(migrations: Array(Self.chain.dropFirst())).migrate(db)   // versions 1 and 2
        #expect(try Migrator(migrations: Self.chain).migrate(db) == 3)
    }

    @Test func failingMigrationLeavesNoTraceAndEarlierOnesStay() throws {
        let migrations = [
            Migration(version: 1, name: "good", sql: "CREATE TABLE kept (x INTEGER);"),
            Migration(version: 2, name: "bad", sql: "CREATE TABLE partial (x INTEGER); INSERT INTO missing VALUES (1);"),
        ]
        let error = try #require(throws: MigrationError.self) { try Migrator(migrations: migrations).migrate(db) }
        guard case .failed(let version, let name, let underlying) = error else {
            Issue.record("expected .failed, got \(error)")
            return
        }
        #expect(version == 2 && name == "bad")
        #expect(underlying.message == "no such table: missing")
        #expect(error.description.contains("migration 2 (bad) failed"))
        #expect(try Migrator(migrations: migrations).currentVersion(of: db) == 1)
        #expect(try db.read { try $0.tableNames() } == ["kept", "schema_migrations"])
    }

    @Test func migrationThatBreaksForeignKeysIsRolledBack() throws {
        let migrations = [
            Self.chain[1], Self.chain[2],
            Migration(version: 3, name: "orphan", sql: "INSERT INTO b (a_id) VALUES (42);"),
        ]
        let error = try #require(throws: MigrationError.self) { try Migrator(migrations: migrations).migrate(db) }
        guard case .failed(3, _, let underlying) = error else {
            Issue.record("expected migration 3 to fail, got \(error)")
            return
        }
        #expect(underlying.isForeignKeyViolation)
        #expect(try db.read { try $0.scalar("SELECT count(*) FROM b") } == 0)
        #expect(try db.read { try $0.scalar("PRAGMA foreign_keys") } == 1)
    }

    @Test(arguments: [false, true])
    func databaseFromANewerBinaryIsRefusedAndLeftByteIdentical(walMode: Bool) throws {
        try Migrator().migrate(db)
        if walMode { try db.enableWAL() }
        try db.write { try $0.run("INSERT INTO schema_migrations VALUES (999, 'future', 'x')") }
        try db.close()
        let before = try scratch.bytes()

        let reopened = try scratch.open()
        let error = try #require(throws: MigrationError.self) { try Migrator().migrate(reopened) }
        let known = Migrator().latestVersion
        #expect(error == .schemaTooNew(found: 999, known: known))
        #expect(error.description == "database schema version 999 is newer than this sockpit binary knows (\(known)); "
            + "refusing to touch it — use a newer sockpit")
        try reopened.close()
        #expect(try scratch.bytes() == before)
    }
}
