import ArgumentParser
import Foundation
import OpenAPIRuntime
import SockpitClient
import SockpitContract

/// `sockpit events [--follow]`: recent history, or the live stream resumed across drops and restarts.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Print recent events, or follow the live event stream (--follow).",
        discussion: "With --follow the stream is resumed from the last event printed (Last-Event-ID) whenever it drops or the server restarts, so no event is missed or printed twice; Ctrl-C ends it.")

    @OptionGroup var client: ClientOptions
    @Flag(name: [.short, .long], help: "Keep printing events as they happen.") var follow = false
    @Option(help: "Only events of this socket.") var socket: String?
    @Option(help: "Only events of this probe.") var probe: String?
    @Option(help: "Only events of this operation (create, send, probe.finish, ...).") var op: String?
    @Option(help: "Without --follow: how many of the newest events.") var limit: Int = 20
    @Option(help: "With --follow: first replay the events after this id (0: all history).") var after: String?

    func run() async throws {
        let op: Components.Schemas.EventOp? = try self.op.map { try RequestBody.decode($0, option: "--op") }
        let api = try client.client()
        guard follow else {
            let page = try await api.listEvents(query: .init(socketId: socket, probeId: probe, op: op, limit: limit)).ok.body.json
            try client.emit(page) { $0.items.reversed().map(Render.event).joined(separator: "\n") }
            return
        }
        var last = after
        var pause = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                let body = try await api.streamEvents(
                    query: .init(socketId: socket, probeId: probe, op: op),
                    headers: .init(lastEventID: last)).ok.body.textEventStream
                pause = .milliseconds(250)
                for try await frame in body.asDecodedServerSentEvents() {
                    if frame.event == "end" {
                        Output.status("sockpit: the server ended the stream (\(frame.data ?? "")); resuming\n")
                        break
                    }
                    guard let data = frame.data else { continue }
                    let event = try JSONDecoder.events.decode(Components.Schemas.Event.self, from: Data(data.utf8))
                    last = event.id
                    print(client.json ? try Output.json(event, compact: true) : Render.event(event))
                    fflush(nil)
                }
            } catch let error as ClientError where ((error.underlyingError as? ServerProblem)?.problem.status ?? 500) < 500 {
                throw error  // a refusal (a wrong token, a bad filter) does not get better by retrying; 503 shutting-down does
            } catch {
                Output.status("sockpit: the event stream dropped (\(Self.reason(error))); retrying in \(pause)\n")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? ClientError else { return "\(error)" }
        return Output.reason(error)
    }
}

/// `sockpit stats`: what the server counts.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Print the server's counts: sockets, operations, bytes, probes, streams.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let stats = try await client.client().getStats().ok.body.json
        try client.emit(stats, human: Render.flat)
    }
}

extension JSONDecoder {
    /// Decodes the server's JSON with its RFC 3339 times (milliseconds).
    static let events: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return try ISO8601DateTranscoder.iso8601WithFractionalSeconds.decode(text)
        }
        return decoder
    }()
}

extension Render {
    /// Any answer as `name  value` lines, nested members as dotted names, arrays as JSON on one line.
    static func flat<Value: Encodable>(_ value: Value) -> String {
        guard let json = try? Output.json(value, compact: true),
              let tree = try? JSONDecoder().decode(JSONTree.self, from: Data(json.utf8)) else { return "" }
        var pairs: [(String, String?)] = []
        func walk(_ tree: JSONTree, _ name: String) {
            if case .object(let members) = tree {
                for key in members.keys.sorted() { walk(members[key]!, name.isEmpty ? key : "\(name).\(key)") }
            } else {
                pairs.append((name, tree.text))
            }
        }
        walk(tree, "")
        return Output.fields(pairs)
    }
}

/// A JSON value, to print answers whose shape the printer does not know.
indirect enum JSONTree: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONTree]), object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONTree].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONTree].self)) }
    }

    /// The value as written in JSON, compactly (strings without quotes at the top).
    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): return value
        case .array(let items): return "[" + items.map { $0.quoted }.joined(separator: ",") + "]"
        case .object(let members): return "{" + members.keys.sorted().map { "\"\($0)\":\(members[$0]!.quoted)" }.joined(separator: ",") + "}"
        }
    }

    private var quoted: String { if case .string(let value) = self { return "\"\(value)\"" } else { return text } }
}
