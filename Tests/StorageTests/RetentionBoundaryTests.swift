import Testing
@testable import Storage

/// The count boundary is found in short reads of `boundaryChunk` ids; it must equal the one-query answer.
@Suite struct RetentionBoundaryTests {
    @Test("countBoundary walked in chunks equals ORDER BY id DESC OFFSET keep, with gaps, across several chunks")
    func chunkedWalkEqualsOneQuery() throws {
        let scratch = try Scratch()
        let db = try scratch.open()
        defer { try? db.close() }
        _ = try Migrator().migrate(db)
        let history = SQLiteHistory(database: db)
        defer { history.writer.close() }
        let total = Int(SQLiteHistory.boundaryChunk) * 3 + 1_234
        try db.write { c in
            try c.run("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                INSERT INTO events (at, op, outcome) SELECT i, 'test', 'ok' FROM n
                """, [.integer(Int64(total))])
            // Gaps: every 7th id of the oldest half, and a run in the middle of a chunk.
            try c.run("DELETE FROM events WHERE id % 7 = 0 AND id < ?", [.integer(Int64(total / 2))])
            try c.run("DELETE FROM events WHERE id BETWEEN 60000 AND 61000")
        }
        for keep in [0, 1, 49_999, 50_000, 50_001, 99_999, 120_000, 140_000, 150_000] {
            let expected = try db.read { try $0.scalar("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?", [.integer(Int64(keep))])?.int }
            let count = try db.read { try $0.scalar("SELECT count(*) FROM events")?.int ?? 0 }
            let got = try history.countBoundary(keeping: keep)
            // Under the limit both say "nothing to prune" (the walk may answer nil from the id span alone).
            if count <= Int64(keep) { #expect(got == nil, "keep \(keep)") } else { #expect(got == expected, "keep \(keep)") }
        }
    }
}
