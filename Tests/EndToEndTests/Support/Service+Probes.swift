import Foundation
import Storage
import Testing

/// Calls of the probes API that tests chain, each requiring its documented status (a failure names the call
/// and shows the body) and returning the JSON answer.
extension Service {
    /// `POST /v1/probes` waiting for the result: requires 201, a `Location` naming the new probe and a finished
    /// probe of the kind and target asked for; returns the probe.
    @discardableResult
    /// `results` is the query parameter (nil: the default, `auto`).
    func probe(_ body: [String: Any], results: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let response = try await request("POST", "/v1/probes" + (results.map { "?results=\($0)" } ?? ""), json: body)
        return try finishedProbe(response, kind: body["kind"] as? String, target: body["target"] as? String,
                                 sourceLocation: sourceLocation)
    }

    /// `GET /v1/probes/{id}`; requires 200.
    func probe(id: String, results: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await expecting(200, "GET", "/v1/probes/\(id)" + (results.map { "?results=\($0)" } ?? ""), nil, sourceLocation: sourceLocation)
    }

    /// One page of `GET /v1/probes?<query>`; requires 200.
    func probePage(_ query: String, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> (items: [[String: Any]], nextCursor: String?)
    {
        let page = try await expecting(200, "GET", "/v1/probes" + (query.isEmpty ? "" : "?" + query), nil,
                                       sourceLocation: sourceLocation)
        let items = try #require(page["items"] as? [[String: Any]], "page: \(page)", sourceLocation: sourceLocation)
        return (items, page["next_cursor"] as? String)
    }

    /// The ids of every probe `GET /v1/probes?<query>` lists, following `next_cursor` page by page from `cursor`
    /// (at most 1000 pages); an id seen twice is recorded as an issue and ends the walk.
    func allProbeIDs(_ query: String, from cursor: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        var ids: [String] = []
        var cursor = cursor
        for _ in 0..<1000 {
            let parts = [query, cursor.map { "cursor=\($0)" }].compactMap { $0 }.filter { !$0.isEmpty }
            let page = try await probePage(parts.joined(separator: "&"), sourceLocation: sourceLocation)
            for item in page.items {
                let id = try #require(item["id"] as? String, sourceLocation: sourceLocation)
                guard !ids.contains(id) else {
                    Issue.record("\(id) listed twice by \(query) (cursor \(cursor ?? "none")); so far \(ids)", sourceLocation: sourceLocation)
                    return ids
                }
                #expect(item["results"] == nil, "list items carry no results: \(item)", sourceLocation: sourceLocation)
                ids.append(id)
            }
            guard let next = page.nextCursor else { return ids }
            #expect(!page.items.isEmpty, "a page with a next_cursor has items", sourceLocation: sourceLocation)
            cursor = next
        }
        Issue.record("more than 1000 pages for \(query)", sourceLocation: sourceLocation)
        return ids
    }
}

/// Requires `response` to be the 201 of a finished probe of `kind` and `target`, with a `Location` naming it;
/// returns the probe. For answers of requests sent concurrently, where only the `Sendable` response crosses tasks.
func finishedProbe(_ response: Response, kind: String?, target: String?,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    guard response.status == 201 else {
        Issue.record("POST /v1/probes answered \(response.status), expected 201: \(response.text)", sourceLocation: sourceLocation)
        throw ServiceError.unexpected("POST /v1/probes -> \(response.status)")
    }
    let probe = try #require(response.json, "not a JSON object: \(response.text)", sourceLocation: sourceLocation)
    let id = try #require(probe["id"] as? String, "probe: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.header("Location")?.hasSuffix("/v1/probes/\(id)") == true,
            "Location: \(response.header("Location") ?? "none")", sourceLocation: sourceLocation)
    #expect(probe["status"] as? String == "finished", "probe: \(response.text)", sourceLocation: sourceLocation)
    #expect(probe["kind"] as? String == kind, sourceLocation: sourceLocation)
    #expect(probe["target"] as? String == target, sourceLocation: sourceLocation)
    return probe
}

/// The per-port or per-echo rows of a probe, in the order the API gave them.
func attempts(_ probe: [String: Any]) -> [[String: Any]] {
    probe["results"] as? [[String: Any]] ?? []
}

/// The member `name` of the object member `object` of a probe (`summary`, `reason`, `phases`).
func member(_ probe: [String: Any], _ object: String, _ name: String) -> Any? {
    (probe[object] as? [String: Any])?[name]
}

/// Whether a JSON member is absent or null.
func isAbsent(_ value: Any?) -> Bool {
    value == nil || value is NSNull
}

/// A number member as Double, whether JSON gave an integer or a fraction.
func number(_ value: Any?) -> Double? {
    (value as? NSNumber)?.doubleValue
}

/// Unix microseconds of an RFC 3339 timestamp as the API writes it (`2026-11-25T04:12:50.123Z`).
func micros(_ timestamp: Any?) -> Int64? {
    guard let text = timestamp as? String else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = formatter.date(from: text) else { return nil }
    return Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
}

/// A string safe inside a URL query (RFC 3986 unreserved characters kept, the rest percent-encoded).
func queryValue(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

/// One row of the `probes` table, as the tests compare it with the API's answer.
struct ProbeRow {
    /// The whole row.
    let row: Row

    /// The text column `name`.
    func text(_ name: String) -> String? { row[name].string }
    /// The integer column `name`.
    func int(_ name: String) -> Int64? { row[name].int }
}

extension Connection {
    /// The `probes` row of probe `id`.
    func probeRow(_ id: String) throws -> ProbeRow? {
        try query("SELECT * FROM probes WHERE id = ?", [.text(id)]).first.map(ProbeRow.init)
    }

    /// The `probe_results` rows of probe `id` in insertion order.
    func probeResultRows(_ id: String) throws -> [Row] {
        try query("SELECT * FROM probe_results WHERE probe_id = ? ORDER BY id", [.text(id)])
    }

    /// The events of probe `id` in the order they were recorded.
    func probeEvents(_ id: String) throws -> [EventRow] {
        try query("SELECT op, outcome, errno, bytes, args, result FROM events WHERE probe_id = ? ORDER BY id", [.text(id)]).map { row in
            EventRow(op: row["op"].string ?? "", outcome: row["outcome"].string ?? "", errno: row["errno"].string,
                     bytes: row["bytes"].int, args: row["args"].string, result: row["result"].string)
        }
    }

    /// How many probes are stored.
    func probeCount() throws -> Int64 {
        try query("SELECT count(*) AS n FROM probes").first?["n"].int ?? -1
    }
}
