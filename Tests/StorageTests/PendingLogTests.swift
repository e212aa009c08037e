import Foundation
import Logging
import Synchronization
import Testing
@testable import Storage

/// The pending log in front of SQLite: socket operations are acknowledged once logged, applied to SQLite in
/// batches, visible to every read at once, and replayed after a crash.
@Suite struct PendingLogTests {
    typealias Fixture = WriterFixture

    static func socket(_ id: String, state: String = "created") -> SocketRecord {
        SocketRecord(id: id, family: "inet", type: "stream", protocol: "tcp", label: nil, state: state, createdAt: 1_000)
    }

    static func event(_ socketID: String, _ op: String) -> EventRecord {
        EventRecord(at: 1_000, socketID: socketID, op: op, outcome: "ok", args: "{}")
    }

    @Test("An appended operation is readable at once (the read applies what is pending), ids ascend, observed in order")
    func appendedWritesAreReadableAtOnce() async throws {
        let fixture = try Fixture(scratch: Scratch())
        let history = fixture.history
        var socket = Self.socket("sk_a")
        var ids: [Int64] = []
        ids.append(try await history.create(socket, event: Self.event("sk_a", "create")).id)
        for index in 1...20 {
            let previous = socket
            socket.bytesSent += 64
            socket.messagesSent += 1
            if index == 10 { socket.state = "connected" }
            ids.append(try await history.record(socket, previous: previous, event: Self.event("sk_a", "send")).id)
        }
        #expect(ids == Array(1...21))
        #expect(fixture.observed.ids == ids)
        let stored = try #require(try await history.find(id: "sk_a"))
        #expect(stored.state == "connected")
        #expect(stored.bytesSent == 20 * 64 && stored.messagesSent == 20)
        let events = try await history.list(EventQuery(socketID: "sk_a", limit: 100, order: .oldestFirst)).items
        #expect(events.map(\.id) == ids)
    }

    @Test("A second connection sees the operations once the batch delay has passed, without any read on the first")
    func backgroundApplyReachesTheFile() async throws {
        let fixture = try Fixture(scratch: Scratch())
        _ = try await fixture.history.create(Self.socket("sk_b"), event: Self.event("sk_b", "create"))
        let other = try Database(path: fixture.scratch.path(), logger: .quiet)
        defer { try? other.close() }
        var count: SQLValue?
        for _ in 0..<200 {
            count = try other.read { try $0.scalar("SELECT count(*) FROM events WHERE socket_id = 'sk_b'") }
            if count == .integer(1) { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(count == .integer(1))
    }

    @Test("Records a killed process left in the log are applied by the next writer; a torn tail is ignored")
    func replayAppliesWhatWasLoggedAndIgnoresATornTail() async throws {
        let scratch = try Scratch()
        do {
            let first = try Fixture(scratch: scratch)
            _ = try await first.history.create(Self.socket("sk_old"), event: Self.event("sk_old", "create"))
            try first.writer.settle()
            first.writer.abandon()
        }
        // What a process killed right after acknowledging three operations leaves: records past SQLite's newest
        // event id, then half of a record it was writing when it died.
        var socket = Self.socket("sk_new")
        var records: [UInt8] = []
        var write = PendingWrite(kind: .insert, socket: socket, event: Self.event("sk_new", "create"))
        write.event.id = 2
        records += write.framed()
        socket.state = "connected"
        write = PendingWrite(kind: .update, socket: socket, event: Self.event("sk_new", "connect"))
        write.event.id = 3
        records += write.framed()
        socket.bytesSent = 5
        write = PendingWrite(kind: .counters, socket: socket, event: Self.event("sk_new", "send"))
        write.event.id = 4
        records += write.framed()
        write.event.id = 5
        records += write.framed().prefix(20)
        // The record of an event SQLite already has (id 1) is skipped, not applied twice.
        var old = PendingWrite(kind: .insert, socket: Self.socket("sk_old"), event: Self.event("sk_old", "create"))
        old.event.id = 1
        try Data(old.framed() + records).write(to: URL(fileURLWithPath: scratch.path() + "-pending"))

        let second = try Fixture(scratch: scratch)
        let stored = try #require(try await second.history.find(id: "sk_new"))
        #expect(stored.state == "connected" && stored.bytesSent == 5)
        let ops = try second.database.read { db in
            try db.query("SELECT id, op FROM events ORDER BY id").map { "\($0["id"].int ?? 0):\($0["op"].string ?? "")" }
        }
        #expect(ops == ["1:create", "2:create", "3:connect", "4:send"])
        // The log is empty now, and the next operation takes the next id.
        #expect(try FileManager.default.attributesOfItem(atPath: second.logPath)[.size] as? Int == 0)
        let next = try await second.history.record(stored, previous: stored, event: Self.event("sk_new", "receive"))
        #expect(next.id == 5)
    }

    @Test("Other writes wait for pending operations and take the next ids: one order for every event")
    func otherWritesFollowPendingOnesInIdOrder() async throws {
        let fixture = try Fixture(scratch: Scratch())
        _ = try await fixture.history.create(Self.socket("sk_c"), event: Self.event("sk_c", "create"))
        let generic = try await fixture.writer.write { db in
            try SQLiteHistory.inserting(EventRecord(at: 2_000, op: "probe.start", outcome: "ok"), into: db)
        }
        #expect(generic.id == 2)
        let after = try await fixture.history.record(Self.socket("sk_c"), previous: nil, event: Self.event("sk_c", "close"))
        #expect(after.id == 3)
        #expect(fixture.observed.ids == [1, 2, 3])
    }

    @Test("The log never grows far past its limit: it is emptied once pending writes are applied")
    func logIsEmptiedPastItsLimit() async throws {
        let fixture = try Fixture(scratch: Scratch())
        let history = fixture.history
        var socket = Self.socket("sk_big")
        _ = try await history.create(socket, event: Self.event("sk_big", "create"))
        let args = "{\"data\":\"" + String(repeating: "x", count: 500) + "\"}"
        var largest = 0
        for _ in 0..<4_000 {
            let previous = socket
            socket.messagesSent += 1
            var event = Self.event("sk_big", "send")
            event.args = args
            _ = try await history.record(socket, previous: previous, event: event)
            let size = try FileManager.default.attributesOfItem(atPath: fixture.logPath)[.size] as? Int ?? 0
            largest = max(largest, size)
        }
        #expect(largest <= HistoryWriter.truncateAfterBytes + 4_096, "largest log: \(largest) bytes")
        #expect(try fixture.database.read { try $0.scalar("SELECT count(*) FROM events") } == .integer(4_001))
        #expect(try await history.find(id: "sk_big")?.messagesSent == 4_000)
    }

    @Test("A second writer on the same database is refused while the first holds the log; after it closes, it opens")
    func secondWriterIsRefusedWhileTheFirstHoldsTheLog() async throws {
        let fixture = try Fixture(scratch: Scratch())
        _ = try await fixture.history.create(Self.socket("sk_1"), event: Self.event("sk_1", "create"))
        let other = try Database(path: fixture.scratch.path(), logger: .quiet)
        defer { try? other.close() }
        let second = HistoryWriter(database: other, logger: .quiet)
        #expect {
            try second.settle()
        } throws: { error in
            "\(error)".contains("another sockpit process is using this database")
        }
        try fixture.writer.close()
        try second.settle()
        let next = try await SQLiteHistory(writer: second).create(Self.socket("sk_2"), event: Self.event("sk_2", "create"))
        #expect(next.id == 2)
        try second.close()
    }

    @Test("A write SQLite refuses (a constraint) is dropped alone; the writes around it are applied")
    func refusedWriteIsDroppedAlone() async throws {
        let fixture = try Fixture(scratch: Scratch())
        let history = fixture.history
        _ = try await history.create(Self.socket("sk_ok"), event: Self.event("sk_ok", "create"))
        // An event of a socket that was never created: the foreign key refuses it.
        let refused = try fixture.writer.append(PendingWrite(kind: .counters, socket: Self.socket("sk_ghost"),
                                                             event: Self.event("sk_ghost", "send")))
        let after = try await history.record(Self.socket("sk_ok", state: "closed"), previous: nil, event: Self.event("sk_ok", "close"))
        let ids = try fixture.database.read { db in try db.query("SELECT id FROM events ORDER BY id").compactMap { $0["id"].int } }
        #expect(ids == [1, after.id])
        #expect(refused.id == 2 && after.id == 3)
        #expect(try await history.find(id: "sk_ok")?.state == "closed")
        // Nothing is left pending behind it.
        let next = try await history.record(Self.socket("sk_ok", state: "closed"), previous: nil, event: Self.event("sk_ok", "close"))
        #expect(try fixture.database.read { try $0.scalar("SELECT max(id) FROM events") } == .integer(next.id))
    }

    @Test("A clean close applies everything and removes the log")
    func closeAppliesAndRemovesTheLog() async throws {
        let fixture = try Fixture(scratch: Scratch())
        for index in 0..<50 {
            _ = try await fixture.history.create(Self.socket("sk_\(index)"), event: Self.event("sk_\(index)", "create"))
        }
        try fixture.writer.close()
        #expect(!FileManager.default.fileExists(atPath: fixture.logPath))
        #expect(try fixture.database.read { try $0.scalar("SELECT count(*) FROM sockets") } == .integer(50))
        try fixture.database.close()
    }

    @Test("Framing round-trips every field, and any damaged byte ends the readable log there")
    func framingRoundTripsAndDetectsDamage() {
        var socket = Self.socket("sk_f", state: "closed")
        socket.label = "naïve \"label\""
        socket.localAddress = "{\"host\":\"127.0.0.1\",\"port\":1}"
        socket.closedAt = 9
        socket.closeReason = "client"
        var event = EventRecord(at: 7, socketID: "sk_f", op: "close", outcome: "error", errno: "EBADF",
                                errorMessage: "bad", durationUs: 3, args: nil, result: "{}", bytes: 0)
        event.id = 42
        let write = PendingWrite(kind: .update, socket: socket, event: event)
        let frame = write.framed()
        #expect(PendingWrite.records(in: frame + frame).writes == [write, write])
        var damaged = frame + frame
        damaged[frame.count + 12] ^= 1
        let read = PendingWrite.records(in: damaged)
        #expect(read.writes == [write] && read.validLength == frame.count)
    }
}
