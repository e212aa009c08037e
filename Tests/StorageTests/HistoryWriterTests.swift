import Foundation
import Logging
import Synchronization
import Testing
@testable import Storage

/// The writer's direct writes (probes, recovery): each commits before it returns, a failing write rolls back
/// alone, and the observer sees every committed event once, in id order.
@Suite struct HistoryWriterTests {
    typealias Fixture = WriterFixture

    static func event(_ index: Int) -> EventRecord {
        EventRecord(at: Int64(index), op: "test", outcome: "ok", args: .object(["index": .int(Int64(index))]))
    }

    @Test("500 concurrent writes all commit, each gets its own id, and the observer sees each once in id order")
    func concurrentWritesAreAllCommittedAndObservedInOrder() async throws {
        let fixture = try Fixture()
        let history = SQLiteHistory(writer: fixture.writer)
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await fixture.writer.write { db in try SQLiteHistory.inserting(Self.event(index), into: db) }.id
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(Set(ids).count == 500)
        let stored = try await history.list(EventQuery(limit: 1000, order: .oldestFirst)).items.map(\.id)
        #expect(stored == ids.sorted())
        let batches = fixture.observed.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.map(\.id) == stored)
        #expect(batches.count <= 500)
    }

    @Test("A write that throws is rolled back alone; the others of its batch commit and are observed")
    func failingWriteRollsBackAlone() async throws {
        let fixture = try Fixture()
        struct Refused: Error {}
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        _ = try await fixture.writer.write { db in
                            let stored = try SQLiteHistory.inserting(Self.event(index), into: db)
                            if index % 5 == 0 { throw Refused() }
                            return stored
                        }
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.filter { !$0.value }.map(\.key).sorted() == Array(stride(from: 0, to: 50, by: 5)))
        let stored = try fixture.database.read { db in
            try db.query("SELECT args FROM events ORDER BY id").compactMap { $0["args"].string }
        }
        #expect(stored.count == 40)
        #expect(!stored.contains { $0 == "{\"index\":0}" || $0 == "{\"index\":45}" })
        #expect(fixture.observed.batches.withLock { $0.flatMap { $0 }.count } == 40)
    }

    @Test("A write's value comes back after its commit: a second connection already sees the row")
    func valueReturnsAfterCommit() async throws {
        let fixture = try Fixture()
        let stored = try await fixture.writer.write { db in try SQLiteHistory.inserting(Self.event(1), into: db) }
        let other = try Database(path: fixture.scratch.path(), logger: .quiet)
        defer { try? other.close() }
        #expect(try other.read { try $0.scalar("SELECT count(*) FROM events WHERE id = ?", [.integer(stored.id)]) } == .integer(1))
    }

    @Test("Under continuous writes the WAL never grows far past 8 MiB: the checkpointer asks, the writer truncates it between batches")
    func walStaysBoundedUnderContinuousWrites() async throws {
        let fixture = try Fixture()
        // As in production: the checkpointer's passive rounds (and no checkpoint by the writer's commits themselves).
        let checkpointer = try WALCheckpointer(for: fixture.database, interval: .milliseconds(20), logger: .quiet)
        defer { checkpointer.stop() }
        let wal = fixture.scratch.path() + "-wal"
        let payload = String(repeating: "x", count: 4_000)
        var largest = 0
        // ~32 MB of events, 16 writers at a time: four times the bound, no pause for a checkpoint to catch up.
        for round in 0..<500 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        _ = try await fixture.writer.write { db in
                            try SQLiteHistory.inserting(EventRecord(at: Int64(round * 16 + index), op: "test", outcome: "ok", args: .string(payload)), into: db)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
            largest = max(largest, size)
        }
        // At 100 MB/s of frames here (production peaks near 40), without the truncation it reached 50 MB.
        #expect(largest < 3 * Database.truncateWALAbove, "largest WAL: \(largest) bytes")
        #expect(try fixture.database.read { try $0.scalar("SELECT count(*) FROM events") } == .integer(8_000))
    }
}
