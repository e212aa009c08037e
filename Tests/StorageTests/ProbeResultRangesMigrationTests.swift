import Foundation
import Testing
@testable import Storage

/// Migration 0003 on a history written before it: old probe.finish events get their reason as an object.
@Suite struct ProbeResultRangesMigrationTests {
    @Test("probe.finish reasons stored as strings of JSON become objects; other results are left as they were")
    func reasonsBecomeObjects() throws {
        let scratch = try Scratch()
        let db = try scratch.open()
        defer { try? db.close() }
        _ = try Migrator(migrations: Migrations.embedded.filter { $0.version <= 2 }).migrate(db)
        let reason = #"{"kind":"refused","message":"port 9 refused","errno":"ECONNREFUSED"}"#
        try db.write { c in
            try c.run("INSERT INTO probes (id, kind, target, request, status, started_at) VALUES ('pr_1', 'tcp', '127.0.0.1', '{}', 'finished', 1)")
            try c.run("INSERT INTO events (at, probe_id, op, outcome, result) VALUES (1, 'pr_1', 'probe.finish', 'error', ?)",
                      [.text(#"{"outcome":"failure","reason":"# + JSONQuote(reason) + "}")])
            try c.run(#"INSERT INTO events (at, probe_id, op, outcome, result) VALUES (2, 'pr_1', 'probe.finish', 'ok', '{"outcome":"success"}')"#)
        }
        #expect(try Migrator(migrations: Migrations.embedded.filter { $0.version <= 3 }).migrate(db) == 3)
        let results = try db.read { try $0.query("SELECT result FROM events ORDER BY id").compactMap { $0[0].string } }
        #expect(results == [#"{"outcome":"failure","reason":"# + reason + "}", #"{"outcome":"success"}"#])
        #expect(try db.read { try $0.scalar("SELECT count(*) FROM pragma_table_info('probe_results') WHERE name = 'last_position'") } == .integer(1))
    }

    /// `text` as a JSON string literal.
    private func JSONQuote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
