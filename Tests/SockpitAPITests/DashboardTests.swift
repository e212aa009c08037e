import Foundation
@testable import SockpitAPI
import Testing

/// The dashboard's files as the binary serves them (issue 16): public even with a token, revalidated by ETag,
/// under a policy that allows only this origin, and every file of the Dashboard directory in the table.
@Suite struct DashboardTests {
    @Test("every file of Sources/SockpitAPI/Dashboard is served, and nothing else")
    func everyFileIsInTheTable() throws {
        let directory = ProblemTypeTests.root.appendingPathComponent("Sources/SockpitAPI/Dashboard")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        #expect(files == Set(Dashboard.files.keys))
        for (name, asset) in Dashboard.files {
            let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
            #expect(Array(bytes) == asset.bytes, "\(name) in the binary is not the file")
        }
    }

    @Test("the page and its files are public, carry ETag, no-cache and the CSP, and answer 304 to their ETag")
    func pageIsServedWithValidators() async throws {
        try await withTestService(token: "t0k") { service in
            let page = try await service.request("GET", "/", sendToken: false)
            #expect(page.status == 200)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.text.contains("<script type=\"module\" src=\"/ui/app.js\">"))
            #expect(page.header("Cache-Control") == "no-cache")
            let policy = try #require(page.header("Content-Security-Policy"))
            #expect(policy.hasPrefix("default-src 'self';") && policy.contains("connect-src 'self'") && !policy.contains("http"))
            let etag = try #require(page.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count > 2, "ETag \(etag)")
            let again = try await service.request("GET", "/", headers: ["If-None-Match": etag], sendToken: false)
            #expect(again.status == 304 && again.body.isEmpty && again.header("ETag") == etag)

            for (name, type) in [("app.js", "text/javascript"), ("style.css", "text/css")] {
                let asset = try await service.request("GET", "/ui/\(name)", sendToken: false)
                #expect(asset.status == 200 && asset.header("Content-Type")?.hasPrefix(type) == true, "\(name): \(asset.status)")
                #expect(Array(asset.body) == Dashboard.files[name]?.bytes)
                let cached = try await service.request("GET", "/ui/\(name)", headers: ["If-None-Match": "\"x\", \(asset.header("ETag") ?? "")"], sendToken: false)
                #expect(cached.status == 304, "\(name) with its ETag in a list")
            }
            let missing = try await service.request("GET", "/ui/nothing.js", sendToken: false)
            try expectProblem(missing, status: 404, kind: "not-found")
            let page2 = try await service.request("GET", "/ui/index.html", sendToken: false)
            #expect(page2.status == 400 || page2.status == 404, "the page is served at / only: \(page2.status)")
        }
    }

    @Test("health says whether a token is required, for the page to ask before its first call")
    func healthSaysWhetherATokenIsRequired() async throws {
        try await withTestService(token: "t0k") { service in
            let health = try await service.request("GET", "/v1/health", sendToken: false)
            #expect(health.json?["token_required"] as? Bool == true)
        }
        try await withTestService { service in
            let health = try await service.request("GET", "/v1/health")
            #expect(health.json?["token_required"] as? Bool == false)
        }
    }
}
