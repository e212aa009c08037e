import Foundation
import Testing

extension EndToEndTests {
    /// Datagrams between two managed sockets: sendto with `to`, recvfrom with `from`, truncation.
    @Suite struct UDPTests {
        /// sendto/recvfrom over the API, for each IP family.
        @Test("UDP sendto/recvfrom between two managed sockets: from names the sender, both ways",
              arguments: ["inet", "inet6"])
        func sendToAndReceiveFrom(family: String) async throws {
            let host = family == "inet" ? "127.0.0.1" : "::1"
            try await withService { service in
                let (a, aAddress) = try await boundDatagramSocket(service, family: family, host: host)
                let (b, bAddress) = try await boundDatagramSocket(service, family: family, host: host)

                let sent = try await service.send(a, "ping", to: bAddress.json)
                #expect(sent["bytes_sent"] as? Int == 4)
                #expect(Address(sent["to"]) == bAddress)
                let ping = try await service.receive(b)
                #expect(ping["data"] as? String == "ping")
                #expect(Address(ping["from"]) == aAddress, "from: \(String(describing: ping["from"]))")
                #expect(ping["truncated"] as? Bool == false)

                let binary = binaryBytes()
                try await service.send(b, Data(binary).base64EncodedString(), encoding: "base64", to: aAddress.json)
                let pong = try await service.receive(a, encoding: "base64")
                #expect(Data(base64Encoded: pong["data"] as? String ?? "").map([UInt8].init) == binary)
                #expect(Address(pong["from"]) == bAddress)

                #expect(counters(try await service.socket(a)) == [4, binary.count, 1, 1])
                #expect(counters(try await service.socket(b)) == [binary.count, 4, 1, 1])
            }
        }

        /// MSG_TRUNC is reported instead of silently cutting datagrams.
        @Test("a datagram longer than max_bytes is answered truncated true with its first max_bytes bytes")
        func longDatagramIsTruncated() async throws {
            try await withService { service in
                let (a, _) = try await boundDatagramSocket(service, family: "inet", host: "127.0.0.1")
                let (b, bAddress) = try await boundDatagramSocket(service, family: "inet", host: "127.0.0.1")
                let payload = String(repeating: "0123456789", count: 10)
                try await service.send(a, payload, to: bAddress.json)
                let result = try await service.receive(b, maxBytes: 10)
                #expect(result["truncated"] as? Bool == true, "receive: \(result)")
                #expect(result["data"] as? String == "0123456789")
                #expect(result["bytes"] as? Int == 10)
                // The rest of the datagram is gone.
                let next = try await service.receive(b, timeoutMs: 0)
                #expect(next["timed_out"] as? Bool == true, "nothing is left of the truncated datagram: \(next)")
            }
        }

        @Test("bytes that are not UTF-8 come in base64 when no encoding was asked for, and the answer says so; utf8 asked for is a 422")
        func invalidUTF8IsNotLost() async throws {
            try await withService { service in
                let (a, _) = try await boundDatagramSocket(service, family: "inet", host: "127.0.0.1")
                let (b, bAddress) = try await boundDatagramSocket(service, family: "inet", host: "127.0.0.1")
                try await service.send(a, "//4=", encoding: "base64", to: bAddress.json)  // 0xff 0xfe
                let received = try await service.expecting(200, "POST", "/v1/sockets/\(b)/receive", ["timeout_ms": 2000])
                #expect(received["encoding"] as? String == "base64" && received["data"] as? String == "//4=", "\(received)")
                try await service.send(a, "//4=", encoding: "base64", to: bAddress.json)
                let refused = try await service.request("POST", "/v1/sockets/\(b)/receive", json: ["timeout_ms": 2000, "encoding": "utf8"])
                try expectProblem(refused, status: 422, kind: "not-utf8", field: "encoding")
                try await service.send(a, "plain", to: bAddress.json)
                #expect(try await service.expecting(200, "POST", "/v1/sockets/\(b)/receive", ["timeout_ms": 2000])["encoding"] as? String == "utf8")
            }
        }

        /// A datagram socket bound to `host` port 0, with its address.
        private func boundDatagramSocket(_ service: Service, family: String, host: String) async throws -> (String, Address) {
            let id = try await service.createSocketID(family: family, type: "dgram")
            let bound = try await service.bind(id, ["host": host, "port": 0])
            let address = try #require(Address(bound["local_address"]))
            #expect((address.port ?? 0) > 0)
            return (id, address)
        }
    }
}
