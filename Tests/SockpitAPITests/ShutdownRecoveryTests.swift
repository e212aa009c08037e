import Foundation
import Storage
import Testing

/// What history says about sockets the server did not see closed by a client: a graceful shutdown closes
/// them as `server-shutdown`; a process that died leaves them for the next start to close as `server-crash`.
@Suite struct ShutdownRecoveryTests {
    /// The close reasons and close-event results recorded for `ids`, read from the file with SQL.
    private func closes(in path: String, _ ids: [String]) throws -> [String: (reason: String?, state: String?, events: [String?])] {
        let database = try Database(path: path, logger: .quiet)
        defer { try? database.close() }
        return try database.read { db in
            var found: [String: (reason: String?, state: String?, events: [String?])] = [:]
            for id in ids {
                let row = try db.query("SELECT close_reason, state, closed_at FROM sockets WHERE id = ?", [.text(id)]).first
                let events = try db.query(
                    "SELECT result FROM events WHERE socket_id = ? AND op = 'close' ORDER BY id", [.text(id)])
                found[id] = (row?["close_reason"].string, row?["state"].string, events.map { $0["result"].string })
            }
            return found
        }
    }

    /// A graceful stop closes what clients left open, and records it, before the database closes.
    @Test("sockets open at shutdown are recorded closed with reason server-shutdown")
    func shutdownClosesOpenSockets() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("sockpit.sqlite")
        let service = try await TestService.start(databasePath: path)
        let ids: [String]
        let clientClosed: String
        do {
            var created: [String] = []
            for family in ["inet", "inet6", "unix"] {
                let response = try await service.request("POST", "/v1/sockets", json: ["family": family, "type": "stream"])
                created.append(try #require(response.json?["id"] as? String, "body: \(response.text)"))
            }
            ids = Array(created.dropFirst())
            clientClosed = created[0]
            #expect(try await service.request("DELETE", "/v1/sockets/\(clientClosed)").status == 204)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
        #expect(service.runtime.sockets.openCount == 0)

        let recorded = try closes(in: path, ids + [clientClosed])
        for id in ids {
            #expect(recorded[id]?.state == "closed", "\(id)")
            #expect(recorded[id]?.reason == "server-shutdown", "\(id)")
            #expect(recorded[id]?.events == [#"{"reason":"server-shutdown"}"#], "\(id)")
        }
        #expect(recorded[clientClosed]?.reason == "client")
        #expect(recorded[clientClosed]?.events == [#"{"reason":"client"}"#])
    }

    /// A runtime that never shut down leaves open rows; the next start closes them as server-crash, and
    /// the API then shows them closed with a close event.
    @Test("a restart after a crash marks sessions left open as server-crash")
    func restartAfterCrashMarksServerCrash() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("sockpit.sqlite")

        let crashed = try await TestService.start(databasePath: path)
        let id: String
        let closedBeforeCrash: String
        do {
            id = try #require(try await crashed.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"]).json?["id"] as? String)
            closedBeforeCrash = try #require(try await crashed.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"]).json?["id"] as? String)
            #expect(try await crashed.request("DELETE", "/v1/sockets/\(closedBeforeCrash)").status == 204)
        } catch {
            await crashed.stop()
            throw error
        }
        try await crashed.simulateCrash()
        let beforeRestart = try closes(in: path, [id])
        #expect(beforeRestart[id]?.state == "created", "the crash left the row open")
        #expect(beforeRestart[id]?.events == [])

        try await withRestartedService(path: path) { service in
            let response = try await service.request("GET", "/v1/sockets/\(id)")
            #expect(response.status == 200, "body: \(response.text)")
            let socket = try #require(response.json)
            #expect(socket["state"] as? String == "closed")
            #expect(socket["close_reason"] as? String == "server-crash")
            #expect(isRFC3339WithMilliseconds(socket["closed_at"] as? String))
            let events = try #require(try await service.request("GET", "/v1/sockets/\(id)/events").json?["items"] as? [[String: Any]])
            #expect(events.map { $0["op"] as? String } == ["close", "create"])
            #expect((events.first?["result"] as? [String: Any])?["reason"] as? String == "server-crash")

            let untouched = try #require(try await service.request("GET", "/v1/sockets/\(closedBeforeCrash)").json)
            #expect(untouched["close_reason"] as? String == "client")
        }
        let recorded = try closes(in: path, [id, closedBeforeCrash])
        #expect(recorded[id]?.reason == "server-crash")
        #expect(recorded[id]?.events == [#"{"reason":"server-crash"}"#])
        #expect(recorded[closedBeforeCrash]?.events == [#"{"reason":"client"}"#])
    }

    /// An open row written straight into the file (as a killed process leaves it) is closed at start.
    @Test("an open row written with SQL is closed as server-crash when a server starts")
    func startClosesRowsWrittenOpenWithSQL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("sockpit.sqlite")
        let database = try Database(path: path, logger: .quiet)
        do {
            _ = try Migrator().migrate(database)
            try database.write { db in
                try db.run(
                    "INSERT INTO sockets (id, family, type, protocol, state, created_at, updated_at) VALUES (?, 'inet', 'stream', 'tcp', 'created', ?, ?)",
                    [.text("sk_orphan"), .integer(1_700_000_000_000_000), .integer(1_700_000_000_000_000)])
            }
        } catch {
            try? database.close()
            throw error
        }
        try database.close()

        try await withRestartedService(path: path) { service in
            let socket = try #require(try await service.request("GET", "/v1/sockets/sk_orphan").json)
            #expect(socket["state"] as? String == "closed")
            #expect(socket["close_reason"] as? String == "server-crash")
            #expect(socket["created_at"] as? String == "2023-11-14T22:13:20.000Z")
            let open = try #require(try await service.request("GET", "/v1/sockets?state=created").json)
            #expect(itemIDs(open) == [])
        }
    }

    /// Starts a server over an existing database file and always stops it.
    private func withRestartedService(path: String, _ body: (TestService) async throws -> Void) async throws {
        let service = try await TestService.start(databasePath: path)
        do {
            try await body(service)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
