import Foundation
import Testing

/// What keeps a web page from driving the API through a browser that can reach it (issue 18): writes must be
/// declared JSON, and a page of another origin is refused; either way nothing is created.
@Suite struct BrowserSafetyTests {
    static let socket = Data(#"{"family":"inet","type":"stream"}"#.utf8)

    @Test("A write whose body is not declared application/json is 415 and creates nothing", arguments: [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx",
    ])
    func undeclaredBodiesAreRefused(contentType: String) async throws {
        try await withTestService { service in
            let response = try await service.request("POST", "/v1/sockets", body: Self.socket, contentType: contentType)
            #expect(response.status == 415)
            #expect(response.headers["content-type"] == "application/problem+json")
            #expect(response.json?["type"] as? String == "https://sockpit.dev/problems/unsupported-media-type")
            #expect((response.json?["detail"] as? String)?.contains(contentType) == true, "\(String(describing: response.json))")
            let list = try await service.request("GET", "/v1/sockets")
            #expect((list.json?["items"] as? [Any])?.isEmpty == true, "nothing was created")
        }
    }

    @Test("A write with no Content-Type at all is 415; application/json with parameters is taken")
    func missingContentTypeIsRefused() async throws {
        try await withTestService { service in
            let bare = try await service.request("POST", "/v1/socketpairs")
            #expect(bare.status == 415, "\(bare.text)")
            let created = try await service.request("POST", "/v1/sockets", body: Self.socket, contentType: "Application/JSON; charset=utf-8")
            #expect(created.status == 201)
        }
    }

    @Test("A request from a page of another origin is 403 cross-origin and creates nothing")
    func otherOriginsAreRefused() async throws {
        try await withTestService { service in
            let response = try await service.request("POST", "/v1/sockets", body: Self.socket, headers: ["Origin": "http://evil.example"])
            #expect(response.status == 403)
            #expect(response.json?["type"] as? String == "https://sockpit.dev/problems/cross-origin")
            let list = try await service.request("GET", "/v1/sockets")
            #expect((list.json?["items"] as? [Any])?.isEmpty == true, "nothing was created")
        }
    }
}
