import Foundation
import SockpitCore
import Testing

/// Every failure is an RFC 9457 problem with a stable `type`, naming the field when one is at fault.
@Suite struct ProblemResponseTests {
    /// A body that is not JSON at all gets `malformed-json`, with the parser's reason in the detail.
    @Test("a malformed JSON body is a 400 malformed-json problem whose detail names the parse error")
    func malformedJSONNamesTheParseProblem() async throws {
        try await withTestService { service in
            let response = try await service.request("POST", "/v1/sockets", body: Data(#"{"family": "inet", "type": "#.utf8))
            let problem = try expectProblem(response, status: 400, kind: "malformed-json")
            let detail = try #require(problem["detail"] as? String)
            #expect(detail.hasPrefix("request body is not valid JSON: "), "detail: \(detail)")
            // The reason after the prefix is the parser's own words, not an empty or generic remark.
            let reason = detail.dropFirst("request body is not valid JSON: ".count)
            #expect(reason.lowercased().contains("end of file"), "detail: \(detail)")
            #expect(problem["instance"] as? String == "/v1/sockets")
        }
    }

    /// A missing required property is a validation problem whose `field` is the property's name.
    @Test("a create request without 'type' is a 400 validation problem with field 'type'")
    func missingRequiredFieldIsNamed() async throws {
        try await withTestService { service in
            let response = try await service.request("POST", "/v1/sockets", json: ["family": "inet"])
            let problem = try expectProblem(response, status: 400, kind: "validation", field: "type")
            #expect((problem["detail"] as? String)?.contains("type") == true)
        }
    }

    /// `additionalProperties: false` is enforced, and the problem says which property was not expected.
    @Test("an unknown property in a create request is a 400 naming that property")
    func unknownPropertyIsRejectedByName() async throws {
        try await withTestService { service in
            let response = try await service.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "colour": "blue"])
            let problem = try expectProblem(response, status: 400, kind: "validation", field: "colour")
            #expect((problem["detail"] as? String)?.contains("colour") == true, "problem: \(problem)")
            #expect(service.runtime.sockets.openCount == 0)
        }
    }

    /// A body in another media type is refused before it is decoded.
    @Test("a create request sent as text/plain is a 415 unsupported-media-type problem")
    func wrongContentTypeIs415() async throws {
        try await withTestService { service in
            let response = try await service.request(
                "POST", "/v1/sockets", body: Data(#"{"family":"inet","type":"stream"}"#.utf8), contentType: "text/plain")
            try expectProblem(response, status: 415, kind: "unsupported-media-type")
            #expect(service.runtime.sockets.openCount == 0)
        }
    }

    /// Labels are limited in characters, as the contract's `maxLength` counts them: 200 pass (200 two-byte ones
    /// too), 201 do not, whatever their bytes.
    @Test("a label over 200 characters is a 400 with field 'label' on create and on list")
    func overlongLabelIsRejected() async throws {
        try await withTestService { service in
            let exact = try await service.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": String(repeating: "a", count: 200)])
            #expect(exact.status == 201, "body: \(exact.text)")
            let wide = try await service.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": String(repeating: "é", count: 200)])
            #expect(wide.status == 201, "200 characters of 2 bytes each: body: \(wide.text)")

            for label in [String(repeating: "a", count: 201), String(repeating: "é", count: 201)] {
                let create = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": label])
                try expectProblem(create, status: 400, kind: "validation", field: "label")
            }
            #expect(service.runtime.sockets.openCount == 2)

            let list = try await service.request("GET", "/v1/sockets?label=" + String(repeating: "a", count: 201))
            try expectProblem(list, status: 400, kind: "validation", field: "label")
        }
    }

    /// `limit` is 1…1000 on every list.
    @Test("limit=0 and limit=1001 are 400 with field 'limit' on socket and event lists")
    func limitOutOfRangeIsRejected() async throws {
        try await withTestService { service in
            let created = try #require(try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"]).json)
            let id = try #require(created["id"] as? String)
            for limit in [0, 1001] {
                try expectProblem(try await service.request("GET", "/v1/sockets?limit=\(limit)"), status: 400, kind: "validation", field: "limit")
                try expectProblem(try await service.request("GET", "/v1/sockets/\(id)/events?limit=\(limit)"),
                                  status: 400, kind: "validation", field: "limit")
            }
            #expect(try await service.request("GET", "/v1/sockets?limit=1").status == 200)
            #expect(try await service.request("GET", "/v1/sockets?limit=1000").status == 200)
        }
    }

    /// A query parameter that does not parse is a validation problem on that parameter — never a
    /// "malformed JSON" complaint about a GET that has no body.
    @Test("an unparsable query parameter is a 400 validation problem naming the parameter",
          arguments: zip(["family=appletalk", "state=lost", "order=sideways", "limit=abc", "limit=1.5", "limit"],
                         ["family", "state", "order", "limit", "limit", "limit"]))
    func unparsableQueryParameterIsNamed(query: String, parameter: String) async throws {
        try await withTestService { service in
            let response = try await service.request("GET", "/v1/sockets?" + query)
            let problem = try expectProblem(response, status: 400, kind: "validation", field: parameter)
            let detail = problem["detail"] as? String ?? ""
            #expect(!detail.contains("JSON") && !detail.contains("(body)"), "detail: \(detail)")
        }
    }

    /// A bare name in the query string (no '=') made the OpenAPI runtime throw a 500 (found by Tests/e2e/fuzz.sh).
    @Test("a query parameter without '=' that the operation does not know is ignored, like any unknown parameter")
    func bareUnknownParameterIsIgnored() async throws {
        try await withTestService { service in
            for path in ["/v1/events?5&op=create", "/v1/sockets?verbose", "/v1/probes?x&limit=5", "/v1/events?l#mit=5&op=create"] {
                let response = try await service.request("GET", path)
                #expect(response.status == 200, "\(path): \(response.status)")
            }
        }
    }

    /// A cursor is only ever a number this server handed out.
    @Test("cursor=abc is a 400 with field 'cursor'")
    func nonNumericCursorIsRejected() async throws {
        try await withTestService { service in
            try expectProblem(try await service.request("GET", "/v1/sockets?cursor=abc"), status: 400, kind: "validation", field: "cursor")
        }
    }

    /// Unknown ids are 404 on every per-socket endpoint, not an empty answer.
    @Test("an unknown socket id is a 404 not-found problem on get, delete and events")
    func unknownSocketIsNotFound() async throws {
        try await withTestService { service in
            let id = "sk_00000000000000000000000000"
            let get = try expectProblem(try await service.request("GET", "/v1/sockets/\(id)"), status: 404, kind: "not-found")
            #expect((get["detail"] as? String)?.contains(id) == true)
            #expect(get["instance"] as? String == "/v1/sockets/\(id)")
            try expectProblem(try await service.request("DELETE", "/v1/sockets/\(id)"), status: 404, kind: "not-found")
            try expectProblem(try await service.request("GET", "/v1/sockets/\(id)/events"), status: 404, kind: "not-found")
        }
    }

    /// What the kernel refuses is answered 501 with the kernel's own errno, and nothing is recorded.
    /// SCTP (the default protocol of inet seqpacket) is missing on many kernels; where it exists the
    /// create succeeds, and capabilities must then say it is supported.
    @Test("inet seqpacket is 501 with the kernel's errno where SCTP is missing, consistent with capabilities")
    func unsupportedKindIs501WithErrno() async throws {
        try await withTestService { service in
            let capabilities = try #require(try await service.request("GET", "/v1/capabilities").json)
            let kinds = try #require(capabilities["socket_kinds"] as? [[String: Any]])
            let sctp = kinds.first {
                $0["family"] as? String == "inet" && $0["type"] as? String == "seqpacket" && $0["protocol"] as? String == "sctp"
            }
            let response = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "seqpacket"])
            if response.status == 201 {
                #expect(sctp?["supported"] as? Bool == true)
            } else {
                let problem = try expectProblem(response, status: 501, kind: "unsupported")
                let errno = try #require(problem["errno"] as? String, "problem: \(problem)")
                #expect(errno.hasPrefix("E") && errno.count > 1)
                if let probed = sctp?["errno"] as? String { #expect(errno == probed) }
                #expect(try await service.request("GET", "/v1/sockets").json.map(itemIDs) == [])
            }
        }
    }

    /// A protocol of another family goes to the kernel, which always refuses TCP on a Unix socket.
    @Test("unix with protocol tcp is 501 with errno EPROTONOSUPPORT")
    func unixWithTCPIs501() async throws {
        try await withTestService { service in
            let response = try await service.request("POST", "/v1/sockets", json: ["family": "unix", "type": "stream", "protocol": "tcp"])
            let problem = try expectProblem(response, status: 501, kind: "unsupported")
            #expect(problem["errno"] as? String == "EPROTONOSUPPORT")
        }
    }

    /// `max_open_sockets` reached is 429 with the `limit` problem type, and closing one makes room.
    @Test("creating past max_open_sockets is a 429 limit problem")
    func tooManyOpenSocketsIs429() async throws {
        try await withTestService(limits: ServiceLimits(maxOpenSockets: 2)) { service in
            var ids: [String] = []
            for _ in 0..<2 {
                let response = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"])
                ids.append(try #require(response.json?["id"] as? String, "body: \(response.text)"))
            }
            let refused = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"])
            try expectProblem(refused, status: 429, kind: "limit")
            #expect(try await service.request("DELETE", "/v1/sockets/\(ids[0])").status == 204)
            #expect(try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"]).status == 201)
        }
    }

    /// Paths and methods the API does not have are problems too, and 405 says what is allowed.
    @Test("an unknown path is a 404 problem and an undeclared method a 405 problem with Allow")
    func unroutedRequestsAreProblems() async throws {
        try await withTestService { service in
            try expectProblem(try await service.request("GET", "/v1/nothing"), status: 404, kind: "not-found")
            let put = try await service.request("PUT", "/v1/sockets", json: ["family": "inet", "type": "stream"])
            try expectProblem(put, status: 405, kind: "method-not-allowed")
            let allowed = Set((put.header("Allow") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(allowed == ["GET", "POST"], "Allow: \(put.header("Allow") ?? "none")")
        }
    }

    /// An enum value outside the schema is a validation problem on its field.
    @Test("an unknown family is a 400 naming field 'family'")
    func unknownFamilyIsRejected() async throws {
        try await withTestService { service in
            let response = try await service.request("POST", "/v1/sockets", json: ["family": "appletalk", "type": "stream"])
            try expectProblem(response, status: 400, kind: "validation", field: "family")
        }
    }
}
