import Foundation
import Testing
@testable import Storage

/// The SQLite wrapper: binding, errors, transactions, lifecycle, concurrency.
@Suite struct DatabaseTests {
    let scratch: Scratch
    let db: Database

    init() throws {
        scratch = try Scratch()
        db = try scratch.open()
    }

    @Test func boundParametersOfEveryKindRoundTrip() throws {
        let values: [SQLValue] = [
            nil, 0, .integer(.min), .integer(.max), 3.25, .real(-1e308), .real(.infinity),
            "", "héllo ✓ 🧦", .text("nul\0inside"), .blob([]), .blob([0, 1, 0, 255]), true,
        ]
        let stored = try db.write { connection in
            try connection.execute("CREATE TABLE t (v ANY) STRICT")   // ANY keeps each value's own type
            for value in values { try connection.run("INSERT INTO t (v) VALUES (?)", [value]) }
            return try connection.query("SELECT v, typeof(v) AS kind FROM t ORDER BY rowid")
        }
        #expect(stored.map { $0["v"] } == values.map { $0 == true ? .integer(1) : $0 })
        #expect(stored[0]["kind"] == "null")
        #expect(stored[10]["kind"] == "blob")   // the empty blob stays a blob, not NULL
        #expect(stored[7]["kind"] == "text")    // the empty string stays text, not NULL
    }

    @Test func accessorsAndOptionalInitializersMapToStorageClasses() {
        #expect(SQLValue(nil as String?) == .null)
        #expect(SQLValue(Optional(42)) == .integer(42))
        #expect(SQLValue(true as Bool?) == .integer(1))
        #expect(SQLValue.integer(7).double == 7)
        #expect(SQLValue.text("7").int == nil)
        #expect(SQLValue.blob([1]).bytes == [1])
        #expect(SQLValue.text("it's").description == "'it''s'")
    }

    @Test func constraintViolationCarriesCodesMessageAndSQL() throws {
        let insert = "INSERT INTO t (id) VALUES (?)"
        try db.write { try $0.execute("CREATE TABLE t (id TEXT NOT NULL UNIQUE)"); try $0.run(insert, ["a"]) }
        let error = try #require(throws: DatabaseError.self) {
            try db.write { try $0.run(insert, ["a"]) }
        }
        #expect(error.isConstraintViolation)
        #expect(error.isUniqueViolation)
        #expect(error.resultCode == 19)
        #expect(error.extendedCode == 2067)
        #expect(error.sql == insert)
        #expect(error.message.contains("UNIQUE constraint failed: t.id"))
        #expect(String(describing: error).contains(insert))
    }

    @Test func writeRollsBackEverythingWhenTheBodyThrows() throws {
        struct Abort: Error {}
        try db.write { try $0.execute("CREATE TABLE t (x INTEGER)") }
        #expect(throws: Abort.self) {
            try db.write { connection in
                try connection.run("INSERT INTO t VALUES (1)")
                throw Abort()
            }
        }
        #expect(try db.read { try $0.scalar("SELECT count(*) FROM t") } == 0)
    }

    @Test func writeReportsInsertedRowIDAndChanges() throws {
        let (rowID, changes) = try db.write { connection in
            try connection.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
            try connection.run("INSERT INTO t VALUES (?)", [3])
            let rowID = connection.lastInsertRowID
            try connection.run("UPDATE t SET x = x + 1 WHERE x < ?", [3])
            return (rowID, connection.changes)
        }
        #expect(rowID == 3)
        #expect(changes == 2)
    }

    @Test func preparedStatementCanBeReboundAndReused() throws {
        let total = try db.write { connection in
            try connection.execute("CREATE TABLE t (x INTEGER)")
            let insert = try connection.prepare("INSERT INTO t VALUES (?)")
            for x in 1...5 {
                try insert.bind([.integer(Int64(x))])
                #expect(try insert.step() == nil)
            }
            return try connection.scalar("SELECT sum(x) FROM t")
        }
        #expect(total == 15)
    }

    @Test func prepareRefusesSeveralStatementsButAcceptsTrailingComments() throws {
        try db.read { connection in
            let error = try #require(throws: DatabaseError.self) { try connection.prepare("SELECT 1; SELECT 2") }
            #expect(error.message.contains("exactly one"))
            #expect(try connection.scalar("SELECT 1; -- why\n") == 1)
        }
    }

    @Test func wrongNumberOfBindingsIsRefused() throws {
        let error = try #require(throws: DatabaseError.self) {
            try db.read { try $0.scalar("SELECT ? + ?", [1]) }
        }
        #expect(error.message == "expected 2 bound values, got 1")
    }

    @Test func executeNamesTheFailingStatement() throws {
        let error = try #require(throws: DatabaseError.self) {
            try db.write { try $0.execute("CREATE TABLE a (x); INSERT INTO nope VALUES (1);") }
        }
        #expect(error.message == "no such table: nope")
        #expect(error.sql?.hasPrefix("INSERT INTO nope") == true)
        #expect(try db.read { try $0.tableNames() } == [])   // the CREATE was rolled back with it
    }

    @Test func connectionAndStatementRefuseUseAfterTheirClosure() throws {
        let (connection, statement) = try db.read { ($0, try $0.prepare("SELECT 1")) }
        #expect(throws: DatabaseError.self) { try connection.execute("SELECT 1") }
        #expect(throws: DatabaseError.self) { try statement.step() }
    }

    @Test func readThatLeavesATransactionOpenIsRolledBackAndReported() throws {
        #expect(throws: DatabaseError.self) {
            try db.read { try $0.execute("BEGIN; CREATE TABLE t (x)") }
        }
        #expect(try db.read { try $0.tableNames() } == [])
        try db.write { try $0.execute("CREATE TABLE u (x)") }   // the next transaction can begin
    }

    @Test func usingAClosedDatabaseThrowsClosed() throws {
        try db.close()
        try db.close()   // idempotent
        #expect(throws: DatabaseError.closed) { try db.read { _ in 1 } }
        #expect(throws: DatabaseError.closed) { try db.write { _ in 1 } }
        #expect(throws: DatabaseError.closed) { try db.enableWAL() }
        #expect(throws: DatabaseError.closed) { try db.integrityCheck() }
        #expect(throws: DatabaseError.closed) { try Migrator().migrate(db) }
    }

    @Test func integrityCheckOfAHealthyDatabaseIsOK() throws {
        try Migrator().migrate(db)
        #expect(try db.integrityCheck() == "ok")
    }

    @Test func enableWALSwitchesJournalModeDurably() throws {
        try db.enableWAL()
        #expect(try db.read { try $0.scalar("PRAGMA journal_mode") } == "wal")
        // Per-connection settings: asked of the writer's connection (reads use reader connections).
        #expect(try db.withConnection { try $0.scalar("PRAGMA synchronous") } == 1)   // NORMAL
        #expect(try db.withConnection { try $0.scalar("PRAGMA journal_size_limit") } == .integer(Int64(Database.journalSizeLimit)))
        try db.close()
        let reopened = try scratch.open()
        #expect(try reopened.read { try $0.scalar("PRAGMA journal_mode") } == "wal")
        try reopened.close()
    }

    @Test func foreignKeysAreEnforced() throws {
        #expect(try db.read { try $0.scalar("PRAGMA foreign_keys") } == 1)
    }

    @Test func openCreatesMissingParentDirectories() throws {
        let nested = try Database(path: scratch.path("a/b/c.sqlite"), logger: .quiet)
        try nested.write { try $0.execute("CREATE TABLE t (x)") }
        try nested.close()
        #expect(FileManager.default.fileExists(atPath: scratch.path("a/b/c.sqlite")))
    }

    @Test func concurrentWritesFromSeveralTasksAllLand() async throws {
        try db.enableWAL()
        try db.write { try $0.execute("CREATE TABLE t (task INTEGER NOT NULL, n INTEGER NOT NULL)") }
        let tasks = 8, writesPerTask = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask { [db] in
                    for n in 0..<writesPerTask {
                        try db.write { try $0.run("INSERT INTO t VALUES (?, ?)", [.integer(Int64(task)), .integer(Int64(n))]) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let perTask = try db.read { try $0.query("SELECT task, count(*) FROM t GROUP BY task") }
        #expect(perTask.count == tasks)
        #expect(perTask.allSatisfy { $0[1] == .integer(Int64(writesPerTask)) })
        try db.close()
    }
}
