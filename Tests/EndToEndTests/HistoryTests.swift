import Foundation
import Storage
import Testing

extension EndToEndTests {
    /// What the service recorded, read with SQL from its SQLite file after it stopped.
    @Suite struct HistoryTests {
        /// Every answered operation is in history, in order, and payloads are kept only as bounded previews.
        @Test("a TCP echo is recorded in order per socket, failures keep their errno, payloads only as bounded previews")
        func echoIsRecordedInOrder() async throws {
            try await withService { service in
                let listener = try await service.tcpListener()
                let client = try await service.createSocketID(family: "inet", type: "stream")
                try await service.connect(client, listener.address.json)
                let server = try #require(try await service.accept(listener.id)["id"] as? String)

                try await service.send(client, "hello")
                #expect(try await service.receiveBytes(server, count: 5) == Array("hello".utf8))
                let big = String(repeating: "0123456789abcdef", count: 640)  // 10240 bytes
                try await service.send(server, big)
                var clientReceives = 0
                var received = 0
                while received < 10240 {
                    let result = try await service.receive(client, encoding: "utf8")
                    received += try #require(result["bytes"] as? Int)
                    clientReceives += 1
                    try #require(result["timed_out"] as? Bool == false)
                }
                try await service.expecting(200, "POST", "/v1/sockets/\(client)/shutdown", ["how": "write"])
                #expect(try await service.receive(server)["eof"] as? Bool == true)

                // A failed operation: connect to a port that refuses.
                let closedPort = try PlainSocket()
                try closedPort.bindLoopback()
                let refused = try await service.createSocketID(family: "inet", type: "stream", label: "refused")
                let failure = try await service.request("POST", "/v1/sockets/\(refused)/connect",
                                                        json: ["address": ["host": "127.0.0.1", "port": try closedPort.localPort()]])
                #expect(failure.status == 502)

                try await service.close(client)
                try await service.close(listener.id)
                await service.stop()  // `refused` is still open: the runtime closes it at shutdown.

                try service.history { db throws in
                    let listenerOps = try db.events(of: listener.id)
                    #expect(listenerOps.map(\.op) == ["create", "bind", "listen", "accept", "close"], "\(listenerOps)")
                    #expect(listenerOps.filter { $0.outcome != "ok" }.isEmpty, "\(listenerOps)")
                    #expect(listenerOps[3].result?.contains(server) == true, "the accept event names the new socket")

                    let clientOps = try db.events(of: client)
                    let expectedClient = ["create", "connect", "send"] + Array(repeating: "receive", count: clientReceives)
                        + ["shutdown", "close"]
                    #expect(clientOps.map(\.op) == expectedClient, "\(clientOps)")
                    #expect(clientOps.filter { $0.outcome != "ok" }.isEmpty, "\(clientOps)")
                    #expect(clientOps.filter { $0.op == "receive" }.compactMap(\.bytes).reduce(0, +) == 10240)

                    let serverOps = try db.events(of: server)
                    #expect(serverOps.map(\.op) == ["accepted", "receive", "send", "receive", "close"], "\(serverOps)")

                    let refusedOps = try db.events(of: refused)
                    #expect(refusedOps.map(\.op) == ["create", "connect", "close"], "\(refusedOps)")
                    if refusedOps.count == 3 {
                        #expect(refusedOps[1].outcome == "error")
                        #expect(refusedOps[1].errno == "ECONNREFUSED")
                        #expect(refusedOps[2].result?.contains("server-shutdown") == true, "\(refusedOps[2])")
                    }

                    // The 10 KB send: its size and at most 64 bytes of it, never the payload.
                    let send = try #require(try db.query("""
                        SELECT bytes, json_extract(args, '$.data.bytes') AS size,
                               length(CAST(json_extract(args, '$.data.preview') AS BLOB)) AS preview_length,
                               json_extract(args, '$.data.preview_truncated') AS truncated, length(args) AS args_length
                        FROM events WHERE socket_id = ? AND op = 'send'
                        """, [.text(server)]).first)
                    #expect(send["bytes"].int == 10240)
                    #expect(send["size"].int == 10240)
                    #expect((send["preview_length"].int ?? 999) <= 64, "preview: \(send)")
                    #expect((send["preview_length"].int ?? 0) > 0)
                    #expect(send["truncated"].int == 1)
                    #expect((send["args_length"].int ?? 99999) < 512, "args stay small: \(send)")

                    for id in [listener.id, client] {
                        let row = try #require(try db.socketRow(id))
                        #expect(row["state"].string == "closed")
                        #expect(row["close_reason"].string == "client", "\(id): \(row)")
                        #expect(row["closed_at"].int != nil)
                    }
                    let clientRow = try #require(try db.socketRow(client))
                    #expect(clientRow["bytes_sent"].int == 5)
                    #expect(clientRow["bytes_received"].int == 10240)
                    #expect(clientRow["messages_received"].int == Int64(clientReceives))
                    let serverRow = try #require(try db.socketRow(server))
                    #expect(serverRow["parent_id"].string == listener.id)
                    let refusedRow = try #require(try db.socketRow(refused))
                    #expect(refusedRow["state"].string == "closed")
                    #expect(refusedRow["close_reason"].string == "server-shutdown", "\(refusedRow)")
                }
            }
        }

        /// A graceful stop leaves no session open in history.
        @Test("sockets left open when the runtime shuts down are closed in history with reason server-shutdown")
        func openSocketsCloseWithServerShutdown() async throws {
            try await withService { service in
                let connection = try await service.tcpConnection()
                let pair = try #require(try await service.request("POST", "/v1/socketpairs", json: ["type": "dgram"])
                    .json?["sockets"] as? [[String: Any]])
                let ids = [connection.listener, connection.client, connection.server] + pair.compactMap { $0["id"] as? String }
                await service.stop()
                try service.history { db throws in
                    for id in ids {
                        let row = try #require(try db.socketRow(id))
                        #expect(row["state"].string == "closed", "\(id)")
                        #expect(row["close_reason"].string == "server-shutdown", "\(id): \(row)")
                        #expect(row["closed_at"].int != nil)
                        #expect(try db.events(of: id).last?.op == "close")
                    }
                    let stillOpen = try db.scalar("SELECT count(*) FROM sockets WHERE closed_at IS NULL")
                    #expect(stillOpen == .integer(0))
                }
            }
        }

        /// The contract says DELETE records reason client; the peer's half-close must not change that.
        @Test("DELETE records close_reason client even when the peer had shut down its writing side (openapi: closeSocket)")
        func deleteAfterPeerEOFRecordsClient() async throws {
            try await withService { service in
                let connection = try await service.tcpConnection()
                try await service.expecting(200, "POST", "/v1/sockets/\(connection.client)/shutdown", ["how": "write"])
                #expect(try await service.receive(connection.server)["eof"] as? Bool == true)
                try await service.close(connection.server)
                let closed = try await service.socket(connection.server)
                #expect(closed["state"] as? String == "closed")
                #expect(closed["close_reason"] as? String == "client",
                        "openapi.yaml closeSocket: 'Closes the socket and records the close with reason client'")
                await service.stop()
                try service.history { db throws in
                    #expect(try db.events(of: connection.server).map(\.op) == ["accepted", "receive", "close"])
                    #expect(try db.socketRow(connection.server)?["close_reason"].string == "client")
                }
            }
        }
    }
}
