import Foundation
@testable import SockpitAPI
import SockpitCore
import Testing

/// Every problem `type` the server can send is documented in openapi.yaml (issue 17): the ones the domain's errors
/// map to, and every other one the sources name (`problems/NAME` URIs and `kind: "NAME"` problems), so that a new
/// kind of problem cannot ship undocumented.
@Suite struct ProblemTypeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The text of the Problem schema's description in openapi.yaml.
    static func documented() throws -> String {
        let contract = try String(contentsOf: root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let schemas = try #require(contract.range(of: "\n  schemas:\n"))
        let start = try #require(contract.range(of: "\n    Problem:\n", range: schemas.upperBound..<contract.endIndex))
        let end = try #require(contract.range(of: "      required:", range: start.upperBound..<contract.endIndex))
        return String(contract[start.upperBound..<end.lowerBound])
    }

    @Test("every kind of domain error's problem type is in the contract's list")
    func domainKindsAreDocumented() throws {
        let text = try Self.documented()
        for kind in SockpitError.Kind.allCases {
            let type = SockpitError(kind, "x").apiProblem.kind
            #expect(text.contains("`\(type)`"), "problem type \(type) (from \(kind)) is not documented")
        }
    }

    @Test("every problem type the sources name is in the contract's list, and the list names no other")
    func sourceTypesAreDocumented() throws {
        var named: Set<String> = []
        let sources = Self.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        let patterns = [#"problems/([a-z-]+)"#, #"APIProblem\(kind: "([a-z-]+)""#, #"Self\(kind: "([a-z-]+)""#]
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for pattern in patterns {
                let regex = try NSRegularExpression(pattern: pattern)
                for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text) { named.insert(String(text[range])) }
                }
            }
        }
        for kind in SockpitError.Kind.allCases { named.insert(SockpitError(kind, "x").apiProblem.kind) }
        #expect(named.count >= 20, "\(named.sorted())")
        let text = try Self.documented()
        for type in named.sorted() {
            #expect(text.contains("`\(type)`"), "problem type \(type) is sent but not documented")
        }
        let listed = try NSRegularExpression(pattern: #"`([a-z]+(-[a-z]+)*)` \("#)
        let documented = Set(listed.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        })
        #expect(documented.subtracting(named).isEmpty, "documented but never sent: \(documented.subtracting(named).sorted())")
    }
}
