import Foundation
import SockpitCore
import Storage
import Testing

/// `GET /v1/health` and `GET /v1/capabilities` against a real server.
@Suite struct ServiceEndpointTests {
    /// Health reports the service, its version and uptime, and the database it really opened.
    @Test("health answers 200 with status, version, uptime, start time and the database it opened")
    func healthReportsServiceAndDatabase() async throws {
        try await withTestService { service in
            let response = try await service.request("GET", "/v1/health")
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            let health = try #require(response.json, "body: \(response.text)")
            #expect(health["status"] as? String == "ok")
            #expect(health["version"] as? String == SockpitVersion.current)
            let uptime = try #require(health["uptime_ms"] as? Double)
            #expect(uptime >= 0)
            let startedAt = health["started_at"] as? String
            #expect(isRFC3339WithMilliseconds(startedAt), "started_at: \(startedAt ?? "missing")")
            let database = try #require(health["database"] as? [String: Any])
            #expect(database["path"] as? String == service.databasePath)
            #expect(database["schema_version"] as? Int == Migrations.embedded.last?.version)
            #expect(database["ok"] as? Bool == true)
        }
    }

    /// Uptime is measured from the runtime's start, so it grows between two calls.
    @Test("health uptime grows between two requests")
    func healthUptimeGrows() async throws {
        try await withTestService { service in
            let first = try #require(try await service.request("GET", "/v1/health").json?["uptime_ms"] as? Double)
            let second = try #require(try await service.request("GET", "/v1/health").json?["uptime_ms"] as? Double)
            #expect(second >= first)
        }
    }

    /// Capabilities list what `socket()` said at start, the limits in force and the process's privileges.
    @Test("capabilities report TCP as supported, errno and message for every unsupported kind, limits and privileges")
    func capabilitiesReportKindsLimitsAndPrivileges() async throws {
        try await withTestService { service in
            let response = try await service.request("GET", "/v1/capabilities")
            #expect(response.status == 200, "body: \(response.text)")
            let capabilities = try #require(response.json, "body: \(response.text)")
            let kinds = try #require(capabilities["socket_kinds"] as? [[String: Any]])
            let tcp = kinds.first {
                $0["family"] as? String == "inet" && $0["type"] as? String == "stream" && $0["protocol"] as? String == "tcp"
            }
            #expect(tcp?["supported"] as? Bool == true)
            for kind in kinds where kind["supported"] as? Bool == false {
                #expect((kind["errno"] as? String)?.hasPrefix("E") == true, "entry: \(kind)")
                #expect((kind["message"] as? String)?.isEmpty == false, "entry: \(kind)")
            }
            let limits = try #require(capabilities["limits"] as? [String: Any])
            #expect(limits["max_request_body_bytes"] as? Int == 1_048_576)
            #expect(limits["max_open_sockets"] as? Int == ServiceLimits().maxOpenSockets)
            let privileges = try #require(capabilities["privileges"] as? [String: Any])
            // A JSON boolean, not a number that happens to bridge to Bool.
            #expect(privileges["cap_net_raw"] is Bool)
            #expect(response.text.contains(#/"cap_net_raw"\s*:\s*(true|false)/#), "body: \(response.text)")
            let versions = try #require(capabilities["versions"] as? [String: Any])
            #expect(versions["sockpit"] as? String == SockpitVersion.current)
        }
    }
}
