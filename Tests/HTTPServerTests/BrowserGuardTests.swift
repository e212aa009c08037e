import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// What the transport refuses before any handler so that a web page cannot drive the API: a `Host` the
    /// server does not answer to (DNS rebinding) is 421, a page of another origin is 403.
    @Suite("Browser guard")
    struct BrowserGuardTests {
        static func routes(_ transport: MicroHTTPDTransport) throws {
            try transport.register({ _, _, _ in textResponse("served") }, method: .get, path: "/v1/items")
        }

        @Test("A Host naming another site is refused 421 problem+json, port or not; addresses and localhost are served")
        func hostsAreChecked() async throws {
            let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, allowedHosts: ["Sockpit.Internal"])
            try await withTestServer(configuration: configuration, routes: Self.routes) { server in
                let port = server.port
                for host in ["evil.example", "evil.example:\(port)", "127.0.0.1.evil.example", "localhost.evil.example:80",
                             "bad:port:here", "[::1", "[::1]x", "sockpit.internal.evil.example"] {
                    let response = try await server.request("GET", "/v1/items", headers: [("Host", host)])
                    #expect(response.status == 421, "\(host)")
                    #expect(response.header("Content-Type") == "application/problem+json", "\(host)")
                    #expect(response.text.contains("misdirected-request") && response.text.contains("--allow-host"), "\(response.text)")
                }
                for host in ["127.0.0.1", "127.0.0.1:\(port)", "localhost:\(port)", "LOCALHOST", "[::1]:\(port)", "[fe80::1]",
                             "10.1.2.3:8080", "sockpit.internal", "SOCKPIT.internal:\(port)"] {
                    let response = try await server.request("GET", "/v1/items", headers: [("Host", host)])
                    #expect(response.status == 200 && response.text == "served", "\(host)")
                }
            }
        }

        @Test("A page of another origin is refused 403; the server's own origin and origin-less clients are served")
        func originsAreChecked() async throws {
            try await withTestServer(routes: Self.routes) { server in
                let own = "127.0.0.1:\(server.port)"
                let page = try await server.request("GET", "/v1/items", headers: [("Host", own), ("Origin", "http://evil.example")])
                #expect(page.status == 403 && page.text.contains("--cors-origin http://evil.example"), "\(page.text)")
                let rebound = try await server.request("GET", "/v1/items", headers: [("Host", own), ("Origin", "http://127.0.0.1:1")])
                #expect(rebound.status == 403, "another port is another origin")
                let same = try await server.request("GET", "/v1/items", headers: [("Host", own), ("Origin", "http://" + own)])
                #expect(same.status == 200)
                let curl = try await server.request("GET", "/v1/items", headers: [("Host", own)])
                #expect(curl.status == 200)
            }
        }
    }
}
