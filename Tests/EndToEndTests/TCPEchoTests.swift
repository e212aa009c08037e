import Foundation
import Testing

extension EndToEndTests {
    /// TCP between two managed sockets over IPv4 and IPv6: the whole lifecycle through the API.
    @Suite struct TCPEchoTests {
        /// The loopback address of each family.
        static let loopback = ["inet": "127.0.0.1", "inet6": "::1"]

        /// The whole TCP lifecycle over the API, for each IP family.
        @Test("TCP echo: bind port 0, listen, connect, accept, utf8/base64/hex round trips, shutdown(write) gives eof, counters match",
              arguments: ["inet", "inet6"])
        func tcpEchoRoundTrips(family: String) async throws {
            let host = try #require(Self.loopback[family])
            try await withService { service in
                // Listener: port 0 becomes the kernel's port, reported in local_address.
                let listener = try await service.createSocketID(family: family, type: "stream", label: "listener")
                let bound = try await service.bind(listener, ["host": host, "port": 0])
                #expect(bound["state"] as? String == "bound")
                let listenAddress = try #require(Address(bound["local_address"]), "bind: \(bound)")
                #expect(listenAddress.host == host)
                #expect((listenAddress.port ?? 0) > 0, "the kernel's port is reported: \(listenAddress)")
                let listening = try await service.listen(listener)
                #expect(listening["state"] as? String == "listening")
                #expect(Address(listening["local_address"]) == listenAddress)

                // Client: connect by numeric host.
                let client = try await service.createSocketID(family: family, type: "stream", label: "client")
                let connected = try await service.connect(client, listenAddress.json)
                #expect(connected["state"] as? String == "connected")
                #expect(Address(connected["peer_address"]) == listenAddress)
                let clientAddress = try #require(Address(connected["local_address"]), "connect: \(connected)")
                #expect(clientAddress.host == host)

                // Accept: 201, Location, parent_id, peer_address = the client's local address.
                let response = try await service.request("POST", "/v1/sockets/\(listener)/accept", json: ["timeout_ms": 5000])
                #expect(response.status == 201, "accept: \(response.text)")
                let accepted = try #require(response.json)
                let server = try #require(accepted["id"] as? String)
                #expect(response.header("Location") == "/v1/sockets/\(server)")
                #expect(accepted["parent_id"] as? String == listener)
                #expect(accepted["state"] as? String == "connected")
                #expect(accepted["family"] as? String == family)
                #expect(Address(accepted["peer_address"]) == clientAddress)
                #expect(Address(accepted["local_address"]) == listenAddress)

                var clientReceived = (bytes: 0, messages: 0)
                var serverReceived = (bytes: 0, messages: 0)

                // utf8, client → server.
                let text = "hello, sockpit ✓ — ünïcödé"
                let textBytes = Array(text.utf8)
                let sent = try await service.send(client, text)
                #expect(sent["bytes_sent"] as? Int == textBytes.count)
                let textChunks = try await receive(service, server, count: textBytes.count, encoding: "utf8")
                #expect(textChunks.joined() == text)
                serverReceived.bytes += textBytes.count
                serverReceived.messages += textChunks.count

                // base64 with every byte value, server → client.
                let binary = binaryBytes()
                try await service.send(server, bytes: binary)
                let base64Chunks = try await receive(service, client, count: binary.count, encoding: "base64")
                #expect(base64Chunks.flatMap { [UInt8](Data(base64Encoded: $0) ?? Data()) } == binary)
                clientReceived.bytes += binary.count
                clientReceived.messages += base64Chunks.count

                // hex with every byte value, client → server.
                let reversed = Array(binary.reversed())
                let hexSent = try await service.send(client, hex(reversed), encoding: "hex")
                #expect(hexSent["bytes_sent"] as? Int == reversed.count)
                let hexChunks = try await receive(service, server, count: reversed.count, encoding: "hex")
                #expect(hexChunks.joined() == hex(reversed))
                serverReceived.bytes += reversed.count
                serverReceived.messages += hexChunks.count

                // shutdown(write) on the client: the server reads end of file, and can still answer.
                let shut = try await service.expecting(200, "POST", "/v1/sockets/\(client)/shutdown", ["how": "write"])
                #expect(shut["state"] as? String == "write_shutdown")
                let eof = try await service.receive(server)
                #expect(eof["eof"] as? Bool == true, "receive after the peer's shutdown(write): \(eof)")
                #expect(eof["bytes"] as? Int == 0)
                #expect(eof["timed_out"] as? Bool == false)
                try await service.send(server, "bye")
                let bye = try await receive(service, client, count: 3, encoding: "utf8")
                #expect(bye.joined() == "bye")
                clientReceived.bytes += 3
                clientReceived.messages += bye.count

                // Counters on GET match what was sent and received.
                let clientSocket = try await service.socket(client)
                #expect(counters(clientSocket) == [textBytes.count + reversed.count, clientReceived.bytes, 2, clientReceived.messages],
                        "client counters \(String(describing: clientSocket["counters"]))")
                let serverSocket = try await service.socket(server)
                #expect(counters(serverSocket) == [binary.count + 3, serverReceived.bytes, 2, serverReceived.messages],
                        "server counters \(String(describing: serverSocket["counters"]))")
                #expect(counters(try await service.socket(listener)) == [0, 0, 0, 0])
            }
        }

        /// Host names are resolved with getaddrinfo and the address actually used is reported.
        @Test("connecting to \"localhost\" resolves the name and reports a numeric peer_address")
        func connectByHostNameReportsNumericPeer() async throws {
            try await withService { service in
                let listener = try await service.tcpListener()
                let client = try await service.createSocketID(family: "inet", type: "stream")
                let connected = try await service.connect(client, ["host": "localhost", "port": listener.address.port ?? 0])
                #expect(connected["state"] as? String == "connected")
                #expect(Address(connected["peer_address"]) == Address(host: "127.0.0.1", port: listener.address.port ?? -1),
                        "peer_address: \(String(describing: connected["peer_address"]))")
                let accepted = try await service.accept(listener.id)
                #expect(Address(accepted["peer_address"]) == Address(connected["local_address"]))
                try await service.send(client, "via localhost")
                let chunks = try await receive(service, try #require(accepted["id"] as? String), count: 13, encoding: "utf8")
                #expect(chunks.joined() == "via localhost")
            }
        }

        /// MSG_OOB passes through send flags and the oob receive waits for urgent data.
        @Test("a byte sent with flags [\"oob\"] on TCP is received by a receive with oob true")
        func outOfBandByteIsReceivedWithOOB() async throws {
            try await withService { service in
                let connection = try await service.tcpConnection()
                try await service.send(connection.client, "normal")
                let urgent = try await service.send(connection.client, "!", flags: ["oob"])
                #expect(urgent["bytes_sent"] as? Int == 1)
                let oob = try await service.receive(connection.server, maxBytes: 1, oob: true)
                #expect(oob["data"] as? String == "!", "oob receive: \(oob)")
                #expect(oob["bytes"] as? Int == 1)
                #expect(oob["timed_out"] as? Bool == false)
                // The urgent byte is out of the stream: the in-band data is intact without it.
                let inBand = try await receive(service, connection.server, count: 6, encoding: "utf8")
                #expect(inBand.joined() == "normal")
            }
        }

        /// Receives exactly `count` bytes in `encoding`, returning each non-empty chunk's `data` as answered.
        private func receive(_ service: Service, _ id: String, count: Int, encoding: String,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
            var chunks: [String] = []
            var total = 0
            while total < count {
                let result = try await service.receive(id, encoding: encoding, sourceLocation: sourceLocation)
                #expect(result["encoding"] as? String == encoding, sourceLocation: sourceLocation)
                let bytes = try #require(result["bytes"] as? Int, sourceLocation: sourceLocation)
                guard bytes > 0 else {
                    Issue.record("stream ended or went quiet after \(total) of \(count) bytes: \(result)", sourceLocation: sourceLocation)
                    throw ServiceError.unexpected("short stream")
                }
                chunks.append(try #require(result["data"] as? String, sourceLocation: sourceLocation))
                total += bytes
            }
            #expect(total == count, sourceLocation: sourceLocation)
            return chunks
        }
    }
}
