import Foundation
@testable import SockpitAPI
import SockpitContract
import SockpitCore
import SocketKit
import Testing

/// Every value the server writes into a field the contract declares a closed set is a member of that set
/// (issue 17): a value outside it would answer 500 (`UnlistedValue`) and break generated clients.
@Suite struct ClosedSetTests {
    /// Every `NAME` the sources under `Sources/<module>` write in `pattern`'s first group.
    static func named(_ pattern: String, in modules: [String]) throws -> Set<String> {
        var names: Set<String> = []
        let regex = try NSRegularExpression(pattern: pattern)
        for module in modules {
            let directory = ProblemTypeTests.root.appendingPathComponent("Sources/\(module)")
            let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
            for file in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text) { names.insert(String(text[range])) }
                }
            }
        }
        return names
    }

    @Test("every op an event is recorded with is an EventOp")
    func eventOpsAreListed() throws {
        let ops = try Self.named(#"EventRecord\([^)]*?op: "([a-z._]+)""#, in: ["SockpitCore", "Storage"])
            .union(Self.named(#"\bop: "([a-z._]+)""#, in: ["SockpitCore"]))
        #expect(ops.count >= 16, "\(ops.sorted())")
        for op in ops { #expect(Components.Schemas.EventOp(rawValue: op) != nil, "op \(op) is recorded but not in EventOp") }
    }

    @Test("every probe reason kind is a ProbeReasonKind")
    func probeReasonKindsAreListed() throws {
        let kinds = try Self.named(#"reason\("([a-z-]+)""#, in: ["SockpitCore"])
            .union(Self.named(#""kind":"([a-z-]+)""#, in: ["Storage"]))
            .union(["permission", "error"])  // chosen by errno in ProbeRunner+Execute
        #expect(kinds.count >= 14, "\(kinds.sorted())")
        for kind in kinds { #expect(Components.Schemas.ProbeReasonKind(rawValue: kind) != nil, "reason kind \(kind) is not in ProbeReasonKind") }
    }

    @Test("every close reason and attempt state is in its set")
    func closeReasonsAndAttemptStatesAreListed() {
        for reason in [CloseReason.client, CloseReason.peerClosed, CloseReason.serverShutdown, CloseReason.serverCrash, CloseReason.createFailed] {
            #expect(Components.Schemas.CloseReason(rawValue: reason) != nil, "close reason \(reason)")
        }
        let states: [String] = [PortState.open, .closed, .filtered, .openFiltered, .untested].map(\.rawValue)
            + [EchoState.reply, .timeout, .unreachable].map(\.rawValue)
            + [TraceProbe.State.hop, .reached, .unreachable, .timeout, .error].map(\.rawValue)
        for state in states { #expect(Components.Schemas.ProbeAttemptState(rawValue: state) != nil, "attempt state \(state)") }
    }
}
