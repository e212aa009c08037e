import Foundation
import Testing

extension EndToEndTests {
    /// Configured limits answer their documented statuses.
    @Suite struct LimitTests {
        /// max_open_sockets bounds creations and socket pairs alike.
        @Test("with max_open_sockets 3 the fourth create answers 429; closing one makes room again")
        func maxOpenSocketsIsEnforced() async throws {
            var options = ServiceOptions()
            options.maxOpenSockets = 3
            try await withService(options) { service in
                var ids: [String] = []
                for _ in 0..<3 { ids.append(try await service.createSocketID(family: "inet", type: "stream")) }
                let fourth = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"])
                try expectProblem(fourth, status: 429, kind: "limit")
                let pair = try await service.request("POST", "/v1/socketpairs", json: ["type": "stream"])
                try expectProblem(pair, status: 429, kind: "limit")
                try await service.close(ids[0])
                try await service.createSocket(family: "unix", type: "dgram")
            }
        }

        /// The limit holds under concurrency too: a check that is not a reservation lets parallel creates through.
        @Test("bursts of 50 concurrent creates for the last free slot of max_open_sockets 3 give exactly one socket each, the rest 429")
        func maxOpenSocketsHoldsUnderConcurrentCreates() async throws {
            var options = ServiceOptions()
            options.maxOpenSockets = 3
            try await withService(options) { service in
                // Two of the three slots stay taken, so every burst races for the last one from its first requests on.
                try await service.createSocket(family: "unix", type: "dgram")
                try await service.createSocket(family: "unix", type: "dgram")
                let bulk = Service.makeSession(maxConnections: 64)
                defer { bulk.invalidateAndCancel() }
                let bursts = 20
                var createdPerBurst: [Int] = []
                for _ in 0..<bursts {
                    let responses = try await withThrowingTaskGroup(of: Response.self) { group in
                        for _ in 0..<50 {
                            group.addTask {
                                try await service.request("POST", "/v1/sockets", json: ["family": "unix", "type": "dgram"], session: bulk)
                            }
                        }
                        var responses: [Response] = []
                        for try await response in group { responses.append(response) }
                        return responses
                    }
                    let created = responses.filter { $0.status == 201 }.compactMap { $0.json?["id"] as? String }
                    createdPerBurst.append(created.count)
                    let unexpected = responses.map(\.status).filter { ![201, 429].contains($0) }
                    #expect(unexpected.isEmpty, "statuses other than 201 and 429: \(unexpected)")
                    for id in created { try await service.close(id) }
                }
                #expect(createdPerBurst == Array(repeating: 1, count: bursts),
                        "sockets created per burst of 50 for the one free slot: \(createdPerBurst)")
                #expect(service.runtime.sockets.openCount == 2)
            }
        }

        /// max_send_bytes refuses oversized payloads before anything is sent.
        @Test("with max_send_bytes 1024 a 2000-byte send answers 413 naming data; 1024 bytes pass")
        func maxSendBytesIsEnforced() async throws {
            var options = ServiceOptions()
            options.maxSendBytes = 1024
            try await withService(options) { service in
                let connection = try await service.tcpConnection()
                let tooLarge = try await service.request("POST", "/v1/sockets/\(connection.client)/send",
                                                         json: ["data": String(repeating: "x", count: 2000)])
                try expectProblem(tooLarge, status: 413, kind: "payload-too-large", field: "data")
                #expect(try await service.receive(connection.server, timeoutMs: 0)["timed_out"] as? Bool == true,
                        "nothing of the refused send arrives")
                try await service.send(connection.client, String(repeating: "y", count: 1024))
                #expect(try await service.receiveBytes(connection.server, count: 1024) == Array(repeating: UInt8(ascii: "y"), count: 1024))
            }
        }
    }
}
