import Foundation
import Testing

/// The base of every problem `type` URI (openapi.yaml, `Problem`).
let problemTypeBase = "https://sockpit.dev/problems/"

/// Checks that `response` is an RFC 9457 problem document (STYLE.md rule 14): content type
/// `application/problem+json`, `type` = base + `kind`, a title, `status` equal to the HTTP status, a detail,
/// and — when given — the offending `field`. Returns the document for further checks.
@discardableResult
func expectProblem(
    _ response: TestResponse, status: Int, kind: String, field: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> [String: Any] {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type")?.hasPrefix("application/problem+json") == true,
            "content type: \(response.header("Content-Type") ?? "none")", sourceLocation: sourceLocation)
    let problem = try #require(response.json, "not a JSON object: \(response.text)", sourceLocation: sourceLocation)
    #expect(problem["type"] as? String == problemTypeBase + kind, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect((problem["title"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    #expect(problem["status"] as? Int == status, sourceLocation: sourceLocation)
    #expect((problem["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    if let field {
        #expect(problem["field"] as? String == field, "body: \(response.text)", sourceLocation: sourceLocation)
    }
    return problem
}

/// Whether `text` is an RFC 3339 UTC time with exactly three fractional digits (`2026-11-25T04:12:50.123Z`),
/// the format STYLE.md's API conventions require.
func isRFC3339WithMilliseconds(_ text: String?) -> Bool {
    guard let text else { return false }
    return text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/#) != nil
}

/// The `id`s of a list response's `items`, in order.
func itemIDs(_ page: [String: Any]) -> [String] {
    ((page["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
}
