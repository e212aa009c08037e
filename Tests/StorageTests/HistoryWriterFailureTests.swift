import Foundation
import Logging
import Synchronization
import Testing
@testable import Storage

/// What the writer does when SQLite cannot commit, and who may write a database at all.
///
/// A full disk is made with SQLite's own `max_page_count`: past it, SQLite answers SQLITE_FULL exactly as it
/// does when the file system has no room (the end-to-end suite fills a real tmpfs).
@Suite struct HistoryWriterFailureTests {
    typealias Fixture = WriterFixture

    static func socket(_ id: String) -> SocketRecord {
        SocketRecord(id: id, family: "inet", type: "dgram", protocol: "udp", label: nil, state: "created", createdAt: 1)
    }

    static func send(_ id: String, _ index: Int) -> SocketWrite {
        var socket = socket(id)
        socket.messagesSent = Int64(index)
        return SocketWrite(kind: .counters, socket: socket, event: EventRecord(
            at: Int64(index), socketID: id, op: "send", outcome: "ok", args: .string(String(repeating: "x", count: 2_000))))
    }

    /// Caps the file at its current size: the next write that needs a new page fails with SQLITE_FULL.
    static func fill(_ database: Database) throws {
        try database.withConnection { db in
            let pages = try db.scalar("PRAGMA page_count")?.int ?? 0
            _ = try db.query("PRAGMA max_page_count = \(pages)")
        }
    }

    @Test("A commit that fails for a full disk keeps the writes of operations that happened, refuses new ones until a commit succeeds, then writes them")
    func fullDiskKeepsWhatHappenedAndRecovers() async throws {
        let fixture = try Fixture()
        _ = try await fixture.writer.record(SocketWrite(kind: .insert, socket: Self.socket("sk_a"), event: EventRecord(
            at: 0, socketID: "sk_a", op: "create", outcome: "ok")))
        try fixture.writer.checkWritable()
        try Self.fill(fixture.database)

        // Sends until SQLite refuses: the first refused one took effect and says so.
        var refused: HistoryUnavailable?
        var acknowledged = 0
        for index in 1...2_000 {
            do {
                _ = try await fixture.writer.record(Self.send("sk_a", index))
                acknowledged += 1
            } catch let error as HistoryUnavailable {
                refused = error
                break
            }
        }
        let failure = try #require(refused)
        #expect(failure.tookEffect)
        #expect(failure.isDiskFull, "\(failure)")
        // While it lasts: refused before acting, and a write that records nothing yet is not kept.
        #expect(throws: HistoryUnavailable.self) { try fixture.writer.checkWritable() }
        do {
            _ = try await fixture.writer.write { db in try SQLiteHistory.inserting(EventRecord(at: 9, op: "probe.start", outcome: "ok"), into: db) }
            Issue.record("a write while the disk is full succeeded")
        } catch let error as HistoryUnavailable {
            #expect(!error.tookEffect)
        }
        // Reads keep answering.
        #expect(try fixture.database.read { try $0.scalar("SELECT count(*) FROM events") }?.int == Int64(acknowledged + 1))

        // Space returns: the kept write commits by itself, and writes are taken again.
        try fixture.database.withConnection { _ = try $0.query("PRAGMA max_page_count = 1073741823") }
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? fixture.writer.checkWritable()) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))  // the writer retries every 200 ms; no event to await from here
        }
        try fixture.writer.checkWritable()
        let sends = try fixture.database.read { try $0.scalar("SELECT count(*) FROM events WHERE op = 'send'") }?.int
        #expect(sends == Int64(acknowledged + 1), "acknowledged \(acknowledged) + the one that took effect")
        let counter = try fixture.database.read { try $0.scalar("SELECT messages_sent FROM sockets WHERE id = 'sk_a'") }?.int
        #expect(counter == Int64(acknowledged + 1))
        _ = try await fixture.writer.record(Self.send("sk_a", 5_000))
        #expect(fixture.observed.ids == (try fixture.database.read { try $0.query("SELECT id FROM events ORDER BY id").compactMap { $0[0].int } }))
    }

    @Test("A second writer on the same database file is refused with a message naming it, and may start once the first has closed")
    func secondWriterIsRefused() async throws {
        let fixture = try Fixture()
        try fixture.writer.start()
        let other = try Database(path: fixture.scratch.path(), logger: .quiet)
        defer { try? other.close() }
        let second = HistoryWriter(database: other, logger: .quiet)
        do {
            try second.start()
            Issue.record("a second writer started")
        } catch let error as DatabaseError {
            #expect(error.message.contains("another sockpit server is using this database"))
            #expect(error.message.contains(fixture.scratch.path()))
        }
        fixture.writer.close()
        try fixture.database.close()
        try second.start()
        second.close()
    }

    @Test("A -pending file left by an older version refuses the start and is kept; an empty one is removed")
    func legacyPendingLogRefusesStart() async throws {
        let scratch = try Scratch()
        let database = try scratch.open()
        defer { try? database.close() }
        let pending = scratch.path() + "-pending"
        FileManager.default.createFile(atPath: pending, contents: Data("older history".utf8))
        do {
            try database.lockForWriting()
            Issue.record("the start was not refused")
        } catch let error as DatabaseError {
            #expect(error.message.contains(pending))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: pending)) == Data("older history".utf8))
        FileManager.default.createFile(atPath: pending, contents: Data())
        try database.lockForWriting()
        #expect(!FileManager.default.fileExists(atPath: pending))
    }
}
