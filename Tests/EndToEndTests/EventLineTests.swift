import Foundation
import Testing

extension EndToEndTests {
    /// The JSON Lines export and the event stream write each event as the JSON page shows it: same members,
    /// same values, whatever the event (socket and probe events, errors, escapes in arguments and results).
    @Suite struct EventLineTests {
        @Test("ndjson lines and SSE data equal the JSON page's items, member for member")
        func linesEqualPageItems() async throws {
            try await withService { service in
                let id = try await service.createSocketID(family: "inet", type: "dgram", label: "quote \" backslash \\ tab \t é ☃")
                try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                try await service.send(id, "line\nbreak \"quoted\" \u{1}", to: ["host": "127.0.0.1", "port": 9])
                _ = try await service.request("POST", "/v1/sockets/\(id)/listen", json: [String: Any]())
                _ = try await service.receive(id, maxBytes: 16, timeoutMs: 1)
                let listener = try PlainSocket()
                try listener.bindLoopback()
                try listener.listen()
                _ = try await service.request("POST", "/v1/probes", json: ["kind": "tcp", "target": "127.0.0.1", "ports": try listener.localPort()])
                let closed = try ProbePeer.closedTCPPort(host: "127.0.0.1")
                _ = try await service.request("POST", "/v1/probes", json: ["kind": "tcp", "target": "127.0.0.1", "ports": closed.port])
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)

                let page = try #require(try await service.request("GET", "/v1/events?limit=1000&order=asc").json?["items"] as? [NSDictionary])
                let export = try await service.request("GET", "/v1/events?format=ndjson&order=asc")
                #expect(export.headers["content-type"]?.hasPrefix("application/x-ndjson") == true)
                let lines = String(decoding: export.body, as: UTF8.self).split(separator: "\n").map {
                    (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? NSDictionary
                }
                // create, bind, send, listen (error), receive (timeout), probe.start, probe.finish (x2), close
                #expect(page.count == 10)
                // A failed probe's reason is an object in its finish event (in every view: the lines below equal it).
                let failedFinish = try #require(page.last { $0["op"] as? String == "probe.finish" })
                let reason = (failedFinish["result"] as? NSDictionary)?["reason"]
                #expect((reason as? NSDictionary)?["errno"] as? String == "ECONNREFUSED", "probe.finish: \(failedFinish)")
                #expect(lines.count == page.count)
                for (line, item) in zip(lines, page) { #expect(line == item, "ndjson \(String(describing: line)) vs page \(item)") }
                // The export as an operation of its own answers the same bytes.
                let exported = try await service.request("GET", "/v1/events/export?order=asc")
                #expect(exported.status == 200 && exported.headers["content-type"]?.hasPrefix("application/x-ndjson") == true)
                #expect(exported.body == export.body, "GET /v1/events/export and ?format=ndjson differ")
                // Asked for text (a browser, a generated client), the same bytes labelled text/plain.
                let text = try await service.request("GET", "/v1/events/export?order=asc", headers: ["Accept": "text/plain"])
                #expect(text.status == 200 && text.headers["content-type"]?.hasPrefix("text/plain") == true && text.body == export.body)
                let either = try await service.request("GET", "/v1/events/export?order=asc", headers: ["Accept": "text/plain;q=0.5, application/x-ndjson"])
                #expect(either.headers["content-type"]?.hasPrefix("application/x-ndjson") == true, "the preferred type wins")
                let capped = try await service.request("GET", "/v1/events/export?order=asc&limit=3&op=send")
                #expect(String(decoding: capped.body, as: UTF8.self).split(separator: "\n").count == 1, "one send event")

                let stream = try await EventStreamTests.open(service, "/v1/events/stream?after=0")
                defer { stream.close() }
                for item in page {
                    let frame = try await offload { try stream.nextEvent() }
                    let data = frame?.data.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? NSDictionary }
                    #expect(data == item, "SSE \(String(describing: frame)) vs page \(item)")
                }
            }
        }
    }
}
