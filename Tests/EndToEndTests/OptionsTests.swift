import Testing

extension EndToEndTests {
    /// Socket options set with PATCH and read back from the kernel.
    @Suite struct OptionsTests {
        /// Options are set with setsockopt and answered as the kernel reads them back.
        @Test("PATCH so_reuseaddr and tcp_nodelay on a TCP socket; the answer and GET /options show them")
        func setAndReadTCPOptions() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "inet", type: "stream")
                let before = try await service.expecting(200, "GET", "/v1/sockets/\(socket)/options", nil)
                #expect(before["tcp_nodelay"] as? Bool == false)
                let patched = try await service.expecting(200, "PATCH", "/v1/sockets/\(socket)/options",
                                                         ["so_reuseaddr": true, "tcp_nodelay": true])
                #expect(patched["so_reuseaddr"] as? Bool == true)
                #expect(patched["tcp_nodelay"] as? Bool == true)
                let read = try await service.expecting(200, "GET", "/v1/sockets/\(socket)/options", nil)
                #expect(read["so_reuseaddr"] as? Bool == true)
                #expect(read["tcp_nodelay"] as? Bool == true)
                #expect(read["so_type"] as? String == "stream")
                let options = try await service.socket(socket)["options"] as? [String: Any]
                #expect(options?["tcp_nodelay"] as? Bool == true, "GET /v1/sockets/{id} includes the options")
            }
        }

        /// TCP_INFO is read from the kernel for connected TCP sockets.
        @Test("tcp_info of a connected TCP socket reports state established and rtt_us")
        func tcpInfoOfConnectedSocket() async throws {
            try await withService { service in
                let connection = try await service.tcpConnection()
                try await service.send(connection.client, "warm up the rtt estimate")
                _ = try await service.receiveBytes(connection.server, count: 24)
                let options = try await service.expecting(200, "GET", "/v1/sockets/\(connection.client)/options", nil)
                let info = try #require(options["tcp_info"] as? [String: Any], "options: \(options)")
                #expect(info["state"] as? String == "established")
                let rtt = try #require(info["rtt_us"] as? Int, "tcp_info: \(info)")
                #expect(rtt >= 0)
                #expect(info["cwnd"] as? Int != nil)
            }
        }

        /// An option that does not apply to the socket is refused naming it, not ignored.
        @Test("tcp_nodelay on a Unix socket answers 409 naming the option")
        func tcpOptionOnUnixSocketIsRefused() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "unix", type: "stream")
                let response = try await service.request("PATCH", "/v1/sockets/\(socket)/options", json: ["tcp_nodelay": true])
                let problem = try expectProblem(response, status: 409, field: "tcp_nodelay")
                #expect((problem["detail"] as? String)?.contains("tcp_nodelay") == true)
            }
        }

        /// A PATCH refused part way changes nothing: the options set before the refused one are put back.
        @Test("a PATCH whose last option is refused leaves the options before it as they were, multicast membership included")
        func refusedPatchChangesNothing() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "inet", type: "dgram")
                let before = try await service.expecting(200, "GET", "/v1/sockets/\(socket)/options", nil)
                // Set in the contract's order: the IPv6 group comes last, and an IPv4 socket refuses it.
                let response = try await service.request("PATCH", "/v1/sockets/\(socket)/options", json: [
                    "so_rcvbuf": 4096, "ip_ttl": 9, "ip_add_membership": ["group": "239.9.9.9"], "ipv6_join_group": ["group": "ff05::1:3"],
                ])
                try expectProblem(response, status: 409, field: "ipv6_join_group")
                let after = try await service.expecting(200, "GET", "/v1/sockets/\(socket)/options", nil)
                for name in ["so_rcvbuf", "ip_ttl"] {
                    #expect("\(after[name] ?? "-")" == "\(before[name] ?? "-")", "\(name): \(before[name] ?? "-") before, \(after[name] ?? "-") after")
                }
                // The group was left again: joining it now is allowed (a second join would be EADDRINUSE).
                _ = try await service.expecting(200, "PATCH", "/v1/sockets/\(socket)/options", ["ip_add_membership": ["group": "239.9.9.9"]])
            }
        }
    }
}
