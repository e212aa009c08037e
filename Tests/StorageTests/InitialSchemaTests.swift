import Testing
@testable import Storage

/// What 0001_initial.sql promises the features built on it: tables, indexes, and the rules they enforce.
///
/// Migrates to version 1 only, so that later migrations do not change what is checked here; they
/// bring their own tests.
@Suite struct InitialSchemaTests {
    let scratch: Scratch
    let db: Database

    init() throws {
        scratch = try Scratch()
        db = try scratch.open()
        try Migrator(migrations: Migrations.embedded.filter { $0.version == 1 }).migrate(db)
    }

    /// Inserts a socket row with only the required columns set.
    func insertSocket(_ connection: Connection, id: String, parent: String? = nil) throws {
        try connection.run(
            "INSERT INTO sockets (id, family, type, state, parent_id, created_at, updated_at) VALUES (?, 'inet', 'stream', 'open', ?, 1, 1)",
            [.text(id), SQLValue(parent)]
        )
    }

    /// Inserts a running probe row with only the required columns set.
    func insertProbe(_ connection: Connection, id: String) throws {
        try connection.run(
            "INSERT INTO probes (id, kind, target, request, status, started_at) VALUES (?, 'tcp_connect', 'localhost', '{}', 'running', 1)",
            [.text(id)]
        )
    }

    @Test func initialSchemaHasTheFourTablesAndTheirIndexes() throws {
        let tables = try db.read { try $0.tableNames() }
        #expect(tables == ["events", "probe_results", "probes", "schema_migrations", "sockets"])
        let indexes = try db.read {
            try $0.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_idx'").compactMap { $0[0].string }
        }
        #expect(indexes.count == 5 + 4 + 1 + 5)
    }

    @Test func counterColumnsDefaultToZero() throws {
        let row = try db.write { connection in
            try insertSocket(connection, id: "s1")
            return try connection.query("SELECT bytes_sent, bytes_received, messages_sent, messages_received FROM sockets").first
        }
        #expect(row?.values == [0, 0, 0, 0])
    }

    @Test func socketIDsAreUniqueForAllTime() throws {
        try db.write { try insertSocket($0, id: "s1") }
        let error = try #require(throws: DatabaseError.self) { try db.write { try insertSocket($0, id: "s1") } }
        #expect(error.isUniqueViolation)
    }

    @Test func unknownParentSocketIsRefused() throws {
        let error = try #require(throws: DatabaseError.self) { try db.write { try insertSocket($0, id: "s2", parent: "nope") } }
        #expect(error.isForeignKeyViolation)
    }

    @Test func strictTablesRefuseValuesOfTheWrongType() throws {
        let error = try #require(throws: DatabaseError.self) {
            try db.write {
                try $0.run("INSERT INTO sockets (id, family, type, state, created_at, updated_at) VALUES ('s', 'inet', 'stream', 'open', 'yesterday', 1)")
            }
        }
        #expect(error.isConstraintViolation)
    }

    @Test func eventCannotConcernASocketAndAProbeAtOnce() throws {
        let error = try #require(throws: DatabaseError.self) {
            try db.write { connection in
                try insertSocket(connection, id: "s1")
                try insertProbe(connection, id: "p1")
                try connection.run("INSERT INTO events (at, socket_id, probe_id, op, outcome) VALUES (1, 's1', 'p1', 'send', 'ok')")
            }
        }
        #expect(error.isCheckViolation)
        #expect(error.message.contains("events_one_subject"))
    }

    @Test func eventIDsFormOneSequenceAcrossSocketsAndProbes() throws {
        let ids = try db.write { connection in
            try insertSocket(connection, id: "s1")
            try insertProbe(connection, id: "p1")
            try connection.run("INSERT INTO events (at, socket_id, op, outcome) VALUES (1, 's1', 'create', 'ok')")
            try connection.run("INSERT INTO events (at, probe_id, op, outcome) VALUES (2, 'p1', 'probe.start', 'ok')")
            try connection.run("INSERT INTO events (at, op, outcome, errno) VALUES (3, 'create', 'error', 'EMFILE')")
            return try connection.query("SELECT id FROM events ORDER BY id").map(\.[0])
        }
        #expect(ids == [1, 2, 3])
    }

    @Test func deletingAProbeRemovesItsResultsAndEvents() throws {
        try db.write { connection in
            try insertProbe(connection, id: "p1")
            for port in [22, 22, 80] {   // a position may repeat across attempts
                try connection.run("INSERT INTO probe_results (probe_id, position, state, at) VALUES ('p1', ?, 'open', 1)", [.integer(Int64(port))])
            }
            try connection.run("INSERT INTO events (at, probe_id, op, outcome) VALUES (1, 'p1', 'probe.start', 'ok')")
            try connection.run("DELETE FROM probes WHERE id = 'p1'")
        }
        #expect(try db.read { try $0.scalar("SELECT (SELECT count(*) FROM probe_results) + (SELECT count(*) FROM events)") } == 0)
    }

    @Test func deletingAListenerKeepsItsAcceptedSockets() throws {
        try db.write { connection in
            try insertSocket(connection, id: "listener")
            try insertSocket(connection, id: "accepted", parent: "listener")
            try connection.run("DELETE FROM sockets WHERE id = 'listener'")
        }
        #expect(try db.read { try $0.scalar("SELECT parent_id FROM sockets WHERE id = 'accepted'") } == .null)
    }
}
