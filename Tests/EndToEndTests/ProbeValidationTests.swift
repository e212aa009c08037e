import Foundation
import Testing

extension EndToEndTests {
    /// Requests the service must refuse with 400 and the field at fault, before probing or storing anything.
    @Suite struct ProbeValidationTests {
        /// One bad request and the field its problem must name.
        struct BadProbe: Sendable, CustomTestStringConvertible {
            /// The request body, as JSON text.
            let json: String
            /// The `field` of the expected problem.
            let field: String
            /// The body, for the test's name.
            var testDescription: String { "\(json) -> field \(field)" }
        }

        /// The bad requests: missing, out-of-range and malformed fields of each kind.
        static let badProbes: [BadProbe] = [
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1"}"#, field: "ports"),
            BadProbe(json: #"{"kind":"udp","target":"127.0.0.1"}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":"70000"}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":70000}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":[80,70000]}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":"10-5"}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":"0"}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":"80,,81"}"#, field: "ports"),
            BadProbe(json: #"{"kind":"icmp","target":"127.0.0.1","ports":80}"#, field: "ports"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":80,"expect":{"regex":"(unclosed"}}"#, field: "expect.regex"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":80,"expect":{"regex":"a","contains":"b"}}"#, field: "expect"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":80,"expect":{"contains":"\#(String(repeating: "é", count: 4097))"}}"#,
                     field: "expect.contains"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":80,"payload":"zz","encoding":"hex"}"#, field: "payload"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":80,"count":0}"#, field: "count"),
            BadProbe(json: #"{"kind":"tcp","target":"127.0.0.1","ports":80,"timeout_ms":0}"#, field: "timeout_ms"),
            BadProbe(json: #"{"kind":"icmp","target":"127.0.0.1","payload":"x"}"#, field: "payload"),
            BadProbe(json: #"{"kind":"tcp","target":"not a host!","ports":80}"#, field: "target"),
            BadProbe(json: #"{"kind":"tcp","target":"::1","ports":80,"ip_family":"inet"}"#, field: "ip_family"),
        ]

        /// Each bad request: 400 problem+json naming the field; no probe row, no event.
        @Test("bad probe requests are 400 validation naming the field, and nothing is stored", arguments: badProbes)
        func badRequestIsRejected(bad: BadProbe) async throws {
            try await withService { service in
                let body = try JSONSerialization.jsonObject(with: Data(bad.json.utf8))
                let response = try await service.request("POST", "/v1/probes", json: body)
                try expectProblem(response, status: 400, kind: "validation", field: bad.field)
                await service.stop()
                #expect(try service.history { try $0.probeCount() } == 0)
                #expect(try service.history { try $0.query("SELECT count(*) AS n FROM events").first?["n"].int } == 0)
            }
        }
    }
}
