import Foundation
import Testing

/// Bearer-token authentication as `sockpit serve --token t0k` runs it.
@Suite struct AuthenticationTests {
    /// The token the server is started with.
    static let token = "t0k"

    /// No Authorization header: 401 problem with a Bearer challenge.
    @Test("without a token a protected endpoint is 401 with WWW-Authenticate: Bearer")
    func missingTokenIs401WithChallenge() async throws {
        try await withTestService(token: Self.token) { service in
            let response = try await service.request("GET", "/v1/capabilities", sendToken: false)
            try expectProblem(response, status: 401, kind: "unauthorized")
            let challenge = try #require(response.header("WWW-Authenticate"))
            #expect(challenge.hasPrefix("Bearer"), "WWW-Authenticate: \(challenge)")
        }
    }

    /// A wrong token, including one that merely starts like the right one, is refused.
    @Test("a wrong bearer token is 401")
    func wrongTokenIs401() async throws {
        try await withTestService(token: Self.token) { service in
            for value in ["Bearer nope", "Bearer t0", "Bearer t0kk", "Basic dDBr", "t0k"] {
                let response = try await service.request("GET", "/v1/capabilities", headers: ["Authorization": value])
                try expectProblem(response, status: 401, kind: "unauthorized")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            }
        }
    }

    /// The right token opens protected endpoints, and refusing a request never creates anything.
    @Test("the right bearer token is 200, and an unauthenticated create creates nothing")
    func rightTokenIsAccepted() async throws {
        try await withTestService(token: Self.token) { service in
            let response = try await service.request("GET", "/v1/capabilities", headers: ["Authorization": "Bearer t0k"])
            #expect(response.status == 200, "body: \(response.text)")

            let refused = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"], sendToken: false)
            try expectProblem(refused, status: 401, kind: "unauthorized")
            #expect(service.runtime.sockets.openCount == 0)
            let created = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"])
            #expect(created.status == 201, "body: \(created.text)")
        }
    }

    /// Authentication comes before anything about the body: a caller without the token learns nothing of it.
    @Test("without a token, a body with a non-integer number or the wrong media type is 401, not 400 or 415")
    func authenticationBeforeBodyChecks() async throws {
        try await withTestService(token: Self.token) { service in
            let fraction = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "x": 1.5],
                                                     sendToken: false)
            try expectProblem(fraction, status: 401, kind: "unauthorized")
            let text = try await service.request("POST", "/v1/sockets", body: Data("{}".utf8), contentType: "text/plain", sendToken: false)
            try expectProblem(text, status: 401, kind: "unauthorized")
            let checked = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "x": 1.5])
            try expectProblem(checked, status: 400, kind: "validation", field: "x")
        }
    }

    /// Health stays public so that load balancers can poll it.
    @Test("health needs no token")
    func healthIsPublic() async throws {
        try await withTestService(token: Self.token) { service in
            let response = try await service.request("GET", "/v1/health", sendToken: false)
            #expect(response.status == 200, "body: \(response.text)")
            #expect(response.json?["status"] as? String == "ok")
        }
    }
}
