import Foundation
import Testing

extension EndToEndTests {
    /// Managed sockets talk to ordinary sockets the service does not own: the test's own Glibc TCP socket.
    @Suite struct OutsidePeerTests {
        /// Managed sockets are real sockets: an ordinary listener outside the service talks to them.
        @Test("a managed socket connects to the test's own listener; bytes flow both ways and the peer's close is eof")
        func managedClientTalksToOutsideListener() async throws {
            try await withService { service in
                let listener = try PlainSocket()
                try listener.bindLoopback()
                try listener.listen()
                let port = try listener.localPort()

                let client = try await service.createSocketID(family: "inet", type: "stream")
                let connected = try await service.connect(client, ["host": "127.0.0.1", "port": port])
                #expect(Address(connected["peer_address"]) == Address(host: "127.0.0.1", port: port))
                let peer = try await offload { try listener.accept() }

                let payload = binaryBytes(extra: 3000)
                try await service.send(client, bytes: payload)
                let read = try await offload { try peer.read(count: payload.count) }
                #expect(read == payload, "the outside peer read \(read.count) of \(payload.count) bytes")

                let reply = Array("pong from outside".utf8) + [0, 0xff, 0x80]
                try await offload { try peer.write(reply) }
                #expect(try await service.receiveBytes(client, count: reply.count) == reply)

                peer.close()
                let eof = try await service.receive(client)
                #expect(eof["eof"] as? Bool == true, "after the outside peer closed: \(eof)")
                let socket = try await service.socket(client)
                #expect(counters(socket)[0] == payload.count)
                #expect(counters(socket)[1] == reply.count)
            }
        }

        /// A managed listener accepts an ordinary client from outside the service.
        @Test("the test's own socket connects to a managed listener; accept reports it and bytes flow both ways")
        func outsideClientTalksToManagedListener() async throws {
            try await withService { service in
                let listener = try await service.tcpListener()
                let port = try #require(listener.address.port)
                let plain = try PlainSocket()
                try await offload { try plain.connectLoopback(port: port) }
                let plainPort = try plain.localPort()

                let accepted = try await service.accept(listener.id)
                let server = try #require(accepted["id"] as? String)
                #expect(Address(accepted["peer_address"]) == Address(host: "127.0.0.1", port: plainPort))
                #expect(accepted["parent_id"] as? String == listener.id)

                let request = Array("GET / HTTP/1.0\r\n\r\n".utf8) + [0, 1, 2, 0xfe]
                try await offload { try plain.write(request) }
                #expect(try await service.receiveBytes(server, count: request.count) == request)

                let answer = binaryBytes(extra: 10)
                try await service.send(server, bytes: answer)
                let read = try await offload { try plain.read(count: answer.count) }
                #expect(read == answer)

                try await service.close(server)
                let after = try await offload { try plain.read(count: 1) }
                #expect(after.isEmpty, "closing the managed socket ends the outside peer's stream")
            }
        }
    }
}
