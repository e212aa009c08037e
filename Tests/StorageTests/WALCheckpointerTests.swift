import Foundation
import Testing
@testable import Storage

/// Background checkpoints: the writer's auto-checkpoint is off, and a second connection copies the WAL into
/// the database file without the writer doing it.
@Suite struct WALCheckpointerTests {
    @Test("Rows written only to the WAL reach the database file through the checkpointer; stop() is prompt and final")
    func checkpointsInTheBackground() async throws {
        let scratch = try Scratch()
        let database = try scratch.open()
        defer { try? database.close() }
        _ = try Migrator().migrate(database)
        try database.enableWAL()
        _ = try database.withConnection { try $0.query("PRAGMA wal_checkpoint(TRUNCATE)") }
        let checkpointer = try WALCheckpointer(for: database, interval: .milliseconds(20), logger: .quiet)
        #expect(try database.withConnection { try $0.scalar("PRAGMA wal_autocheckpoint") } == 0)
        let fileBefore = try FileManager.default.attributesOfItem(atPath: scratch.path())[.size] as? Int ?? 0
        let history = SQLiteHistory(database: database)
        for index in 0..<2000 {
            _ = try await history.writer.write { db in
                try SQLiteHistory.inserting(EventRecord(at: Int64(index), op: "test", outcome: "ok", args: .string(String(repeating: "x", count: 200))), into: db)
            }
        }
        // The writer never checkpoints now: the file grows only when the checkpointer copies the WAL into it.
        let deadline = Date().addingTimeInterval(20)
        var fileAfter = fileBefore
        while fileAfter <= fileBefore + 100_000, Date() < deadline {
            try await Task.sleep(for: .milliseconds(2))  // polling an observable: SQLite offers no event for it
            fileAfter = try FileManager.default.attributesOfItem(atPath: scratch.path())[.size] as? Int ?? 0
        }
        #expect(fileAfter > fileBefore + 100_000, "database file \(fileBefore) -> \(fileAfter) bytes")
        let started = ContinuousClock.now
        checkpointer.stop()
        checkpointer.stop()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try database.integrityCheck() == "ok")
    }
}
